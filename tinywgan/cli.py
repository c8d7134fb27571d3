"""The command line: ``python -m tinywgan COMMAND`` (or the ``tinywgan`` console script).

    gradcheck   every hand-derived gradient against finite differences, as a table
"""
import argparse
import sys


def cmd_gradcheck(args):
    from . import gradcheck
    rows = gradcheck.run_all(seed=args.seed)
    print(gradcheck.format_table(rows))
    failed = [r for r in rows if not r["ok"]]
    print("\n%d of %d checks passed (float64)." % (len(rows) - len(failed), len(rows)))
    return 1 if failed else 0


def build_parser():
    parser = argparse.ArgumentParser(prog="tinywgan", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("gradcheck", help="check every gradient against finite differences")
    p.add_argument("--seed", type=int, default=0, help="seed of the random test points")
    p.set_defaults(func=cmd_gradcheck)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
