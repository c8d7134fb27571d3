"""``python -m tinywgan bugzoo [BUG ...]``: every bug, what goes wrong, the check that catches
it and its numbers; one figure; exit status 1 if a bug goes uncaught."""
import os
import sys

from ..threads import add_flag as add_threads_flag


def add_subcommand(sub):
    """Add ``bugzoo`` to the command line's subparsers."""
    from .zoo import BUGS
    p = sub.add_parser("bugzoo", help="inject each classic WGAN/WGAN-GP mistake and show the "
                       "check that catches it")
    p.add_argument("bugs", nargs="*", metavar="BUG",
                   help="only these (default all): %s" % "; ".join(b.name for b in BUGS))
    p.add_argument("--figure", default=os.path.join("figures", "bugzoo.png"),
                   help="where the figure goes (default figures/bugzoo.png)")
    p.add_argument("--no-figure", action="store_true", help="skip the figure")
    add_threads_flag(p)
    p.set_defaults(func=main)


def main(args):
    from .zoo import BUGS, describe, format_table, run
    known = [b.name for b in BUGS]
    unknown = [n for n in args.bugs if n not in known]
    if unknown:
        print("tinywgan bugzoo: no bug named %s; the bugs are: %s"
              % (", ".join(map(repr, unknown)), "; ".join(known)), file=sys.stderr)
        return 2
    if not args.no_figure:
        from ..oneline import check_figure_path
        try:
            check_figure_path(args.figure)
        except ValueError as e:
            print("tinywgan bugzoo: %s (or --no-figure)" % e, file=sys.stderr)
            return 2
    rows = run(args.bugs or None)
    for row in rows:
        print(describe(row) + "\n")
    print(format_table(rows))
    if not args.no_figure:
        try:
            from .figure import draw
            os.makedirs(os.path.dirname(args.figure) or ".", exist_ok=True)
            print("wrote %s" % draw(rows, args.figure))
        except ImportError as e:
            print("no figure: %s" % e)
    missed = [r["name"] for r in rows if not r["caught"]]
    print("\n%d of %d bugs caught%s." % (len(rows) - len(missed), len(rows),
                                          "; NOT caught: " + ", ".join(missed) if missed else ""))
    return 1 if missed else 0
