"""``python -m tinywgan table``: the published mode-collapse protocol (``tinywgan/job/protocol.py``)
on every method, a progress line per run, the table beside the published rows, a figure of
the samples, or one JSON document."""
import os
import sys


def add_subcommand(sub):
    """Add ``table`` to the command line's subparsers."""
    from . import protocol
    p = sub.add_parser("table", help="the published mode-collapse protocol on every method, "
                       "beside the published rows")
    p.add_argument("--full", action="store_true", help="%d seeds, as PacGAN (default %d, as "
                   "VEEGAN)" % (protocol.SEEDS_FULL, protocol.SEEDS))
    p.add_argument("--seeds", type=int, help="this many seeds instead (0..N-1)")
    p.add_argument("--datasets", nargs="+", choices=protocol.DATASETS,
                   default=list(protocol.DATASETS), help="default: both")
    p.add_argument("--methods", nargs="+", choices=[label for label, _ in protocol.ROWS],
                   metavar="ROW", help="rows to run (default all: %s)"
                   % ", ".join(repr(label) for label, _ in protocol.ROWS))
    p.add_argument("--jobs", type=int, default=2,
                   help="worker processes, one BLAS thread each (default 2)")
    p.add_argument("--iters", type=int, help="generator iterations per run (default: the "
                   "dataset's and method's own; fewer for a quick look, not the protocol)")
    p.add_argument("--figure", default=os.path.join("figures", "table.png"),
                   help="the samples' figure (default figures/table.png)")
    p.add_argument("--no-figure", action="store_true", help="skip the figure")
    p.add_argument("--json", action="store_true",
                   help="print one JSON document (progress goes to stderr)")
    p.set_defaults(func=main)


def main(args):
    import json
    from . import protocol
    seeds = args.seeds if args.seeds is not None else \
        protocol.SEEDS_FULL if args.full else protocol.SEEDS
    log = sys.stderr if args.json else sys.stdout
    from ..oneline import INTERRUPTED, check_figure_path, fail
    if not args.no_figure:
        try:
            check_figure_path(args.figure)
        except ValueError as e:
            return fail("tinywgan table", "%s (or --no-figure)" % e, 2)

    finished = [0, len(args.datasets) * len(args.methods or protocol.ROWS) * seeds]

    def progress(done, total, r):
        finished[:] = [done, total]
        print("[%*d/%d] %-4s %-20s seed %d: %2d/%d modes, %5.1f %% high quality, reverse KL %s, "
              "%.0f s (cpu %.0f s)" % (len(str(total)), done, total, r["dataset"], r["label"],
                                       r["seed"], r["modes"], r["modes_total"],
                                       100 * r["high_quality"],
                                       "-" if r["reverse_kl"] is None else "%.3f" % r["reverse_kl"],
                                       r["seconds"], r["cpu_seconds"]), file=log, flush=True)
    print("tinywgan table: %d datasets x %d methods x %d seeds on %d worker process(es)"
          % (len(args.datasets), len(args.methods or protocol.ROWS), seeds, args.jobs), file=log)
    try:
        results = protocol.run(args.datasets, args.methods, seeds, args.jobs, args.iters,
                               progress)
    except (TypeError, ValueError) as e:
        print("tinywgan table: %s" % e, file=sys.stderr)
        return 2
    except KeyboardInterrupt:           # the workers are terminated already (protocol.run)
        return fail("tinywgan table", "interrupted after %d of %d runs%s; no table or figure was "
                    "written, and no run is saved: run it again (a quick look: fewer --seeds, "
                    "--iters or --methods)" % (finished[0], finished[1], " (their lines are "
                                               "above)" if finished[0] else ""), INTERRUPTED)
    summary = protocol.summarise(results)
    if not args.no_figure:
        try:
            print("wrote %s" % protocol.figure(results, args.figure), file=log)
        except ImportError as e:
            print("tinywgan table: no figure: %s" % e, file=sys.stderr)
    if args.json:
        runs = [{k: v for k, v in r.items() if k != "samples"} for r in results]
        print(json.dumps({"seeds": seeds, "summary": summary, "runs": runs,
                          "published": [dict(source=s, method=m, **{d: dict(zip(
                              ("modes", "high_quality", "reverse_kl"), c[d])) for d in c})
                              for s, m, c in protocol.PUBLISHED],
                          "protocols": protocol.PROTOCOLS}))
    else:
        print("\n" + protocol.format_table(summary, seeds))
    return 0
