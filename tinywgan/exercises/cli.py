"""``python -m tinywgan exercises init|check|show|list``: the workbook's command line."""
import sys

from ..threads import add_flag as add_threads_flag


def add_subcommand(sub):
    """Add ``exercises`` and its four commands to the command line's subparsers."""
    p = sub.add_parser("exercises", help="the workbook: write it (init), grade it (check), find "
                       "tinywgan's answers (show, list)")
    commands = p.add_subparsers(dest="exercises_command", required=True)
    c = commands.add_parser("init", help="write the workbook's files into DIR (keeps any file "
                            "already there)")
    c.add_argument("dir")
    c.set_defaults(func=cmd_init)
    c = commands.add_parser("check", help="grade the exercises in DIR (or tinywgan's own, "
                            "--reference)")
    c.add_argument("args", nargs="*", metavar="DIR [NAME ...]",
                   help="the workbook folder, then the exercises to grade (default all)")
    c.add_argument("--reference", action="store_true",
                   help="grade tinywgan's own functions (the answer key); the arguments are "
                   "then exercise names")
    c.add_argument("--seed", type=int, default=0, help="draw other random cases (default 0)")
    add_threads_flag(c)
    c.set_defaults(func=cmd_check)
    c = commands.add_parser("show", help="where tinywgan's answer to NAME lives")
    c.add_argument("name")
    c.set_defaults(func=cmd_show)
    c = commands.add_parser("list", help="the exercises in teaching order")
    c.set_defaults(func=cmd_list)


def cmd_init(args):
    from .workbook import init
    try:
        written, kept = init(args.dir)
    except (OSError, ValueError) as e:
        print("tinywgan exercises init: %s" % e, file=sys.stderr)
        return 2
    for path in written:
        print("wrote %s" % path)
    for path in kept:
        print("kept  %s (already there: not overwritten)" % path)
    print("\nFill in the stubs, then: python -m tinywgan exercises check %s" % args.dir)
    return 0


def cmd_check(args):
    from . import FAIL, check, check_reference
    if args.seed < 0:
        print("tinywgan exercises check: --seed must be >= 0", file=sys.stderr)
        return 2
    try:
        if args.reference:
            results = check_reference(args.args or None, seed=args.seed)
        elif not args.args:
            print("tinywgan exercises check: give the workbook's folder (python -m tinywgan "
                  "exercises check DIR), or --reference", file=sys.stderr)
            return 2
        else:
            results = check(args.args[0], args.args[1:] or None, seed=args.seed)
    except (FileNotFoundError, ValueError) as e:
        print("tinywgan exercises check: %s" % e, file=sys.stderr)
        return 2
    return 1 if any(r.status == FAIL for r in results) else 0


def cmd_show(args):
    from . import show
    try:
        print(show(args.name))
    except ValueError as e:
        print("tinywgan exercises show: %s" % e, file=sys.stderr)
        return 2
    return 0


def cmd_list(args):
    from . import EXERCISES
    width = max(len(ex.name) for ex in EXERCISES)
    for ex in EXERCISES:
        print("%-*s  %-27s %s" % (width, ex.name, ex.file, ex.teaches))
    return 0
