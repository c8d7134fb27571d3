"""``python -m tinywgan exercises init|check|show|list``: the workbook's command line."""
import dataclasses
import json
import math
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
    c.add_argument("--time-limit", type=float, default=None, metavar="S",
                   help="seconds each exercise may run before its row says 'timed out' "
                   "(default 20)")
    c.add_argument("--strict", action="store_true",
                   help="count 'not started' as a failure in the exit status (to grade a "
                   "submission: exit status 0 only when every exercise passes)")
    c.add_argument("--json", action="store_true",
                   help="print one JSON object instead of the table: per exercise its status, "
                   "largest errors, failing case, diagnoses, hints and lines")
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
    from . import FAIL, NOT_STARTED, check, check_reference
    if args.seed < 0:
        print("tinywgan exercises check: --seed must be >= 0", file=sys.stderr)
        return 2
    if args.time_limit is not None and not args.time_limit > 0:
        print("tinywgan exercises check: --time-limit must be > 0 seconds", file=sys.stderr)
        return 2
    report = []                                 # --json: the table's text goes into the JSON
    out = report.append if args.json else print
    try:
        if args.reference:
            results = check_reference(args.args or None, seed=args.seed, out=out)
        elif not args.args:
            print("tinywgan exercises check: give the workbook's folder (python -m tinywgan "
                  "exercises check DIR), or --reference", file=sys.stderr)
            return 2
        else:
            results = check(args.args[0], args.args[1:] or None, seed=args.seed, out=out,
                            limit=args.time_limit)
    except (FileNotFoundError, ValueError) as e:
        print("tinywgan exercises check: %s" % e, file=sys.stderr)
        return 2
    failed = (FAIL, NOT_STARTED) if args.strict else (FAIL,)
    status = 1 if any(r.status in failed for r in results) else 0
    if args.json:
        print(json.dumps({"seed": args.seed, "strict": args.strict, "exit_status": status,
                          "exercises": [_as_json(r) for r in results],
                          "report": "\n".join(report)}, indent=1, allow_nan=False))
    return status


def _as_json(result):
    """A Result as JSON: an error not measured (NaN) as null, an infinite one as "inf"."""
    row = dataclasses.asdict(result)
    for key in ("err_fd", "err_lib"):
        row[key] = None if math.isnan(row[key]) else "inf" if math.isinf(row[key]) else row[key]
    return row


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
