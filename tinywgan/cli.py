"""The command line: ``python -m tinywgan COMMAND`` (or the ``tinywgan`` console script).

    train       train a GAN on a toy distribution or the 8x8 digits and write a run folder
                (the main job)
    sample      write points from a trained run's generator
    gradcheck   every hand-derived gradient against finite differences, as a table
    bench       time the gan_toy iteration against the matrix products it needs
    table       the published mode-collapse protocol (ring, grid) on every method, beside the
                published rows
"""
import argparse
import os
import sys


def cmd_gradcheck(args):
    from . import gradcheck
    from .finitediff import format_table
    rows = gradcheck.run_all(seed=args.seed)
    print(format_table(rows))
    failed = [r for r in rows if not r["ok"]]
    print("\n%d of %d checks passed (float64)." % (len(rows) - len(failed), len(rows)))
    return 1 if failed else 0


def cmd_bench(args):
    import json
    from . import bench
    try:
        r = bench.run(width=args.width, depth=args.depth, batch=args.batch,
                      n_critic=args.n_critic, dtype=args.dtype, device=args.device,
                      repeats=args.repeats, iters_per_repeat=args.iters_per_repeat,
                      warmup=args.warmup, fast=args.fast)
    except (ValueError, RuntimeError) as e:
        print("tinywgan bench: %s" % e, file=sys.stderr)
        return 2
    print(json.dumps(r) if args.json else bench.format_result(r))
    return 0


def cmd_train(args):
    from .checkpoint import CheckpointError
    from .run import train_run
    from .config import make_config
    from .train import TrainingDiverged
    fields = {f: getattr(args, f) for f in CONFIG_FLAGS}
    if args.no_lr_decay:
        fields["lr_decay"] = False
    if args.warmup:
        fields["warmup"] = True
    try:
        cfg = make_config(args.preset, **fields)
    except ValueError as e:
        print("tinywgan train: %s" % e, file=sys.stderr)
        return 2
    run_dir = args.out or os.path.join("runs", "%s-%s" % (cfg.method, cfg.dataset))
    print("tinywgan train: %s on %s, %d iterations, %s -> %s"
          % (cfg.method, cfg.dataset, cfg.iters, cfg.device, run_dir))
    try:
        m = train_run(cfg, run_dir, resume=args.resume, quiet=args.quiet,
                      figure=not args.no_figure)
    except (TrainingDiverged, CheckpointError) as e:
        print("tinywgan train: %s\nThe last good checkpoint (if any) is kept in %s."
              % (e, run_dir), file=sys.stderr)
        return 1
    except ImportError as e:          # digits without scikit-learn, a figure without matplotlib
        print("tinywgan train: %s" % e, file=sys.stderr)
        return 1
    print("done in %.1f s: W1 %.4f (floor %.4f, ratio %.2f)%s"
          % (m["seconds"], m["w1"], m["w1_floor"], m["w1_ratio"],
             ", modes %d/%d, high quality %.3f" % (m["modes"], m["modes_total"],
                                                   m["high_quality"]) if "modes" in m else ""))
    print("wrote %s/{metrics.json, figure.png, checkpoint.npz, history.jsonl}" % run_dir)
    return 0


def cmd_sample(args):
    from .checkpoint import CheckpointError
    from .run import sample_run
    try:
        points = sample_run(args.run_dir, args.n, args.o, device=args.device)
    except CheckpointError as e:
        print("tinywgan sample: %s" % e, file=sys.stderr)
        return 1
    print("wrote %d points %s to %s" % (points.shape[0], points.shape, args.o))
    return 0


CONFIG_FLAGS = ["method", "dataset", "iters", "batch", "n_critic", "width", "depth",
                "activation", "latent", "lam", "clip", "optimizer", "lr_d", "lr_g", "betas",
                "gan_loss", "seed", "device", "dtype", "log_every", "eval_every", "eval_n",
                "r1", "r2"]


def _per_setting(name):
    """', 25gaussians: 16000, wgan: 3000' for a field that DATASET_DEFAULTS or METHOD_DEFAULTS
    sets per dataset or method."""
    from .config import DATASET_DEFAULTS, METHOD_DEFAULTS
    return "".join(", %s: %s" % (key, " ".join(map(str, v[name])) if isinstance(v[name], tuple)
                                 else v[name])
                   for table in (DATASET_DEFAULTS, METHOD_DEFAULTS)
                   for key, v in table.items() if name in v)


def _add_train_flags(p):
    from .backend import DEVICES, DTYPES
    from .config import Config, METHODS, PRESETS, default_optimizer
    from .data import DATASETS
    from .layers import ACTIVATIONS
    from .losses import GAN_LOSSES
    from .optim import OPTIMIZERS
    d = Config()
    p.add_argument("--preset", choices=sorted(PRESETS), help="start from named settings "
                   "(gan_toy: the reference toy code's)")
    p.add_argument("--method", choices=METHODS, help="default %s" % d.method)
    p.add_argument("--dataset", choices=sorted(DATASETS),
                   help="a 2-D toy, or digits (scikit-learn's 8x8 images) (default %s)"
                   % d.dataset)
    for name, typ in (("iters", int), ("batch", int), ("n_critic", int), ("width", int),
                      ("depth", int), ("latent", int), ("lam", float), ("clip", float),
                      ("lr_d", float), ("lr_g", float), ("seed", int), ("log_every", int),
                      ("eval_every", int), ("eval_n", int)):
        p.add_argument("--" + name.replace("_", "-"), dest=name, type=typ,
                       help="default %s%s" % (getattr(d, name), _per_setting(name)))
    p.add_argument("--activation", metavar="ACT",
                   help="one of %s, or leaky_relu:SLOPE (default %s)"
                   % (", ".join(sorted(ACTIVATIONS)), d.activation))
    p.add_argument("--optimizer", choices=sorted(OPTIMIZERS),
                   help="default: the method's own (%s)"
                   % ", ".join("%s: %s" % (m, default_optimizer(m)) for m in METHODS))
    p.add_argument("--betas", type=float, nargs=2,
                   help="Adam's betas (default %s %s%s)" % (d.betas + (_per_setting("betas"),)))
    for name, where in (("r1", "real"), ("r2", "generated")):
        p.add_argument("--" + name, type=float, metavar="GAMMA",
                       help="add %s = (GAMMA/2) mean ||grad_x f||^2 at the %s points to the "
                       "critic's loss, any method (Mescheder et al. 2018) (default %s: off)"
                       % (name.upper(), where, getattr(d, name)))
    p.add_argument("--gan-loss", dest="gan_loss", choices=GAN_LOSSES,
                   help="gan: the generator's loss (default %s)" % d.gan_loss)
    p.add_argument("--device", choices=DEVICES, help="default %s" % d.device)
    p.add_argument("--dtype", choices=sorted(DTYPES), help="default %s" % d.dtype)
    p.add_argument("--no-lr-decay", action="store_true", help="keep the learning rates constant")
    p.add_argument("--warmup", action="store_true",
                   help="wgan: 100 critic steps for the first 25 and every 500th iteration")
    p.add_argument("--out", help="run folder (default runs/METHOD-DATASET)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--no-figure", action="store_true", help="skip the figure")


def cmd_table(args):
    import json
    from . import protocol
    seeds = args.seeds if args.seeds is not None else \
        protocol.SEEDS_FULL if args.full else protocol.SEEDS
    log = sys.stderr if args.json else sys.stdout

    def progress(done, total, r):
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


def _add_table_command(sub):
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
    p.set_defaults(func=cmd_table)


def build_parser():
    from .backend import DEVICES, DTYPES
    parser = argparse.ArgumentParser(prog="tinywgan", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="train on a toy distribution; writes a run folder")
    _add_train_flags(p)
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("sample", help="write points from a trained generator (.npy)")
    p.add_argument("run_dir")
    p.add_argument("-n", type=int, default=2500, help="how many points (default 2500)")
    p.add_argument("-o", default="points.npy", help="output .npy file (default points.npy)")
    p.add_argument("--device", choices=DEVICES, help="default: the run's")
    p.set_defaults(func=cmd_sample)
    p = sub.add_parser("gradcheck", help="check every gradient against finite differences")
    p.add_argument("--seed", type=int, default=0, help="seed of the random test points")
    p.set_defaults(func=cmd_gradcheck)
    p = sub.add_parser("bench", help="time the gan_toy iteration against its matrix products")
    for name, default in (("width", 512), ("depth", 3), ("batch", 256), ("n_critic", 5),
                          ("repeats", 5), ("iters_per_repeat", 3), ("warmup", 2)):
        p.add_argument("--" + name.replace("_", "-"), dest=name, type=int, default=default,
                       help="default %d" % default)
    p.add_argument("--dtype", choices=sorted(DTYPES), default="float32")
    p.add_argument("--device", choices=DEVICES, default="cpu")
    p.add_argument("--fast", action=argparse.BooleanOptionalAction, default=True,
                   help="the fused steps of tinywgan/fast.py (--no-fast: the plain steps of "
                   "tinywgan/steps.py)")
    p.add_argument("--json", action="store_true", help="one JSON line")
    p.set_defaults(func=cmd_bench)
    _add_table_command(sub)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
