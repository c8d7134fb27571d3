"""The command line: ``python -m tinywgan COMMAND`` (or the ``tinywgan`` console script).

    train       train a GAN on a toy distribution or the 8x8 digits and write a run folder
                (the main job)
    sample      write points from a trained run's generator
    gradcheck   every hand-derived gradient against finite differences, as a table
    bench       time the gan_toy iteration against the matrix products it needs
    exercises   the workbook: write it (init), grade it (check), find the answers (show)
    bugzoo      each classic WGAN/WGAN-GP mistake injected, and the check that catches it
    table       the published mode-collapse protocol (ring, grid) on every method, beside the
                published rows

A mistake at this boundary ends in one line on stderr, ``tinywgan COMMAND: what is wrong; what
to do``, and a non-zero status (2: the arguments, the flag named, never abbreviated
(``tinywgan.oneline``); 1: what happened when running them; 130: Ctrl-C, with what was finished
and, for train, the iteration saved and the command that resumes; no worker process is left),
never a traceback.
"""
import argparse
import dataclasses
import os
import sys

from . import threads
from .oneline import INTERRUPTED, OneLineParser, fail, parse


def cmd_gradcheck(args):
    from .measure import gradcheck
    from .measure.finitediff import format_table
    if args.seed < 0:
        return fail("tinywgan gradcheck", "--seed must be an int >= 0, got %d" % args.seed, 2)
    rows = gradcheck.run_all(seed=args.seed)
    print(format_table(rows))
    failed = [r for r in rows if not r["ok"]]
    print("\n%d of %d checks passed (float64)." % (len(rows) - len(failed), len(rows)))
    return 1 if failed else 0


def cmd_bench(args):
    import json
    from .job import bench
    try:
        r = bench.run(width=args.width, depth=args.depth, batch=args.batch,
                      n_critic=args.n_critic, dtype=args.dtype, device=args.device,
                      repeats=args.repeats, iters_per_repeat=args.iters_per_repeat,
                      warmup=args.warmup, fast=args.fast)
    except (ValueError, RuntimeError) as e:
        return fail("tinywgan bench", e, 2)
    print(json.dumps(r) if args.json else bench.format_result(r))
    return 0


def cmd_train(args):
    from .job.checkpoint import CheckpointError
    from .job.config import Config, make_config
    from .job.run import RunFolder, curve_every, train_run
    from .job.training import TrainingDiverged
    fields = {f: getattr(args, f) for f in CONFIG_FLAGS}
    if args.no_lr_decay:
        fields["lr_decay"] = False
    if args.warmup:
        fields["warmup"] = True
    given = {k: v for k, v in fields.items() if v is not None}
    given["threads"] = threads.policy(args.threads)   # auto, or the count main set
    if args.resume and (args.preset or args.force):
        return fail("tinywgan train", "--resume continues a run with its own settings; %s: drop it"
                     % ("--preset picks the settings of a new run" if args.preset
                        else "--force replaces a run"), 2)
    folder = None
    try:
        if args.resume:
            cfg, name = None, "%s-%s" % (given.get("method", Config.method),
                                         given.get("dataset", Config.dataset))
        else:
            cfg = make_config(args.preset, **given)
            if args.eval_every is None:                     # a W1 curve: ten evaluations
                cfg = dataclasses.replace(cfg, eval_every=curve_every(cfg))
            name = "%s-%s" % (cfg.method, cfg.dataset)
        folder = RunFolder(args.out if args.out is not None else os.path.join("runs", name))
        m = train_run(cfg, folder, resume=args.resume, force=args.force,
                      changes=given if args.resume else None, quiet=args.quiet,
                      figure=not args.no_figure)
    except KeyboardInterrupt:
        return fail("tinywgan train", "interrupted; " + _kept(folder), INTERRUPTED)
    except TrainingDiverged as e:
        return fail("tinywgan train", _diverged(e, folder), 1)
    except CheckpointError as e:                    # a file that cannot be used: exit 1
        return fail("tinywgan train", e, 1)
    except ValueError as e:                         # the arguments: exit 2
        return fail("tinywgan train", e, 2)
    except (ImportError, RuntimeError) as e:        # a missing library, CuPy without a GPU
        return fail("tinywgan train", e, 1)
    except MemoryError as e:
        return fail("tinywgan train", "out of memory (%s); make width, batch or eval_n smaller"
                    % e, 1)
    except OSError as e:                            # a full disk, no permission
        return fail("tinywgan train", _os_error(e, folder), 1)
    print("done: %d iterations in %.1f s of training; W1 %.4f on %d points (floor %.4f, ratio "
          "%.2f)%s" % (m["iters"], m["seconds"], m["w1"], m["eval_n"], m["w1_floor"],
                       m["w1_ratio"], ", modes %d/%d, high quality %.3f"
                       % (m["modes"], m["modes_total"], m["high_quality"]) if "modes" in m
                       else ""))
    if "blas_threads" in m:
        print("threads: %s of this session's iterations" % threads.split(m["blas_threads"]))
    print("wrote %s/{config.json, history.jsonl, checkpoint.npz, metrics.json%s}"
          % (folder.path, "" if args.no_figure else ", figure.png"))
    return 0


def _kept(folder):
    """Which iteration is saved, and the command that resumes it, in words."""
    from .job.run import resume_command
    if folder is None or folder.saved is None:
        return "no checkpoint was saved"
    return "iteration %d is saved in %s; resume with: %s" % (
        folder.saved, folder.file("checkpoint.npz"), resume_command(folder))


def _diverged(e, folder):
    from .job.run import resume_command
    cfg = folder.cfg
    head = "training diverged at generator iteration %d: %s became %s" % (
        e.iteration, " and ".join(e.quantities), e.value)
    if folder.saved is None:
        return "%s; no checkpoint was saved before it: train anew with smaller learning rates " \
               "(--lr-d %g --lr-g %g), a larger --lam or --dtype float64" % (
                   head, cfg.lr_d / 2, cfg.lr_g / 2)
    return "%s; iteration %d is saved in %s: resume it with smaller learning rates: %s --lr-d " \
           "%g --lr-g %g (or train anew with a larger --lam or --dtype float64)" % (
               head, folder.saved, folder.file("checkpoint.npz"), resume_command(folder),
               cfg.lr_d / 2, cfg.lr_g / 2)


def _os_error(e, folder):
    import errno
    advice = {errno.ENOSPC: "free some space", errno.EDQUOT: "free some space",
              errno.EACCES: "choose a folder you can write (--out)", errno.EROFS:
              "choose a folder you can write (--out)"}.get(e.errno, "check the folder")
    where = e.filename or (folder.path if folder is not None else "the run folder")
    kept = "; then " + _kept(folder) if folder is not None and folder.saved is not None \
        else ("; no checkpoint was saved" if folder is not None else "")
    return "could not write %s (%s); %s%s" % (where, e.strerror or e, advice, kept)


def cmd_sample(args):
    from .job.checkpoint import CheckpointError
    from .job.run import sample_run
    try:
        points, cfg = sample_run(args.run_dir, args.n, args.o, device=args.device,
                                 seed=args.seed, grid=args.grid)
    except CheckpointError as e:
        return fail("tinywgan sample", e, 1)
    except ValueError as e:
        return fail("tinywgan sample", e, 2)
    except (ImportError, RuntimeError, MemoryError) as e:
        return fail("tinywgan sample", e, 1)
    except OSError as e:
        return fail("tinywgan sample", "could not write %s (%s)" % (e.filename or args.o,
                                                             e.strerror or e), 1)
    print("wrote %d points of %s, shape %s float32 (seed %d), to %s"
          % (points.shape[0], cfg.dataset, points.shape, args.seed, args.o))
    if cfg.dataset == "digits":
        print("digits: 64 pixels in [-1, 1] each (pixel / 8 - 1: scikit-learn's 0..16 is "
              "8 (x + 1)), row by row")
    if args.grid:
        print("drew the first %d as an image grid in %s" % (min(len(points), 100), args.grid))
    return 0


CONFIG_FLAGS = ["method", "dataset", "iters", "batch", "n_critic", "width", "depth",
                "activation", "latent", "lam", "clip", "optimizer", "lr_d", "lr_g", "betas",
                "gan_loss", "seed", "device", "dtype", "log_every", "checkpoint_every",
                "eval_every", "eval_n", "r1", "r2", "threads", "ema"]

#: Where each preset's settings come from, for --help.
_PRESET_SOURCES = {"gan_toy": "the WGAN-GP paper's toy code", "wgan_paper": "the WGAN paper"}


def _per_setting(name):
    """', 25gaussians: 16000, wgan: 3000' for a field that DATASET_DEFAULTS or METHOD_DEFAULTS
    sets per dataset or method."""
    from .job.config import DATASET_DEFAULTS, METHOD_DEFAULTS
    return "".join(", %s: %s" % (key, " ".join(map(str, v[name])) if isinstance(v[name], tuple)
                                 else v[name])
                   for table in (DATASET_DEFAULTS, METHOD_DEFAULTS)
                   for key, v in table.items() if name in v)


def _add_train_flags(p):
    from .backend import DEVICES, DTYPES
    from .job.config import Config, METHODS, PRESETS, default_optimizer
    from .measure.data import DATASETS, DIGITS_N
    from .core.mlp import ACTIVATIONS
    from .core.steps import GAN_LOSSES
    from .core.optim import OPTIMIZERS
    from .job.resume import FIXED
    from .job.run import FLOOR_PAIRS
    d = Config()
    p.add_argument("--preset", choices=sorted(PRESETS), help="start from named settings "
                   "instead of the per-dataset and per-method defaults (a flag still wins): "
                   + "; ".join("%s (%s): %s" % (k, _PRESET_SOURCES.get(k, "tinywgan/job/config.py"),
                                                " ".join("%s=%s" % f for f in v.items()))
                               for k, v in sorted(PRESETS.items())))
    p.add_argument("--method", choices=METHODS, help="default %s; rpgan: the relativistic "
                   "pairing loss with R1 and R2 on, the paper's (gamma/2)(R1 + R2) being "
                   "--r1 gamma --r2 gamma (Huang et al. 2024)" % d.method)
    p.add_argument("--dataset", choices=sorted(DATASETS),
                   help="a 2-D toy, or digits (scikit-learn's 8x8 images) (default %s)"
                   % d.dataset)
    for name, typ, what in (
            ("iters", int, "generator iterations"), ("batch", int, "examples per step"),
            ("n_critic", int, "critic steps per generator step"),
            ("width", int, "hidden width of both networks"),
            ("depth", int, "hidden layers of both networks"), ("latent", int, "dimension of z"),
            ("lam", float, "gradient-penalty weight (wgan-gp, wgan-lp)"),
            ("clip", float, "weight-clipping bound (wgan)"),
            ("lr_d", float, "the critic's learning rate"),
            ("lr_g", float, "the generator's learning rate"),
            ("seed", int, "seed of the weights and of every draw"),
            ("ema", float, "decay of the moving average of the generator's weights that "
             "samples (Yazici et al. 2019); 0: the last iterate samples"),
            ("log_every", int, "check the numbers, print a line and append to history.jsonl "
             "every so many iterations (and write the checkpoint, unless --checkpoint-every)")):
        p.add_argument("--" + name.replace("_", "-"), dest=name, type=typ,
                       help="%s (default %s%s)" % (what, getattr(d, name), _per_setting(name)))
    p.add_argument("--checkpoint-every", dest="checkpoint_every", type=int, metavar="N",
                   help="write checkpoint.npz every N iterations, a multiple of --log-every "
                   "(default: at every log step), and always at the end")
    p.add_argument("--eval-every", dest="eval_every", type=int, metavar="N",
                   help="exact W1 on %d points every N iterations, for the curves (default: "
                   "ten times over the run, iters / 10 rounded down to a multiple of "
                   "--log-every; 0: none before the final evaluation)" % d.curve_n)
    p.add_argument("--eval-n", dest="eval_n", type=int, metavar="N",
                   help="points of the final evaluation (default %d; the digits at most %d) "
                   "against a floor of %d real-vs-real pairs; the evaluations during "
                   "training use %d" % (d.eval_n, DIGITS_N // (FLOOR_PAIRS + 1), FLOOR_PAIRS,
                                        d.curve_n))
    p.add_argument("--activation", metavar="ACT",
                   help="one of %s, or leaky_relu:SLOPE (default %s)"
                   % (", ".join(sorted(ACTIVATIONS)), d.activation))
    p.add_argument("--optimizer", choices=sorted(OPTIMIZERS),
                   help="default: the method's own (%s)"
                   % ", ".join("%s: %s" % (m, default_optimizer(m)) for m in METHODS))
    p.add_argument("--betas", type=float, nargs=2, metavar=("BETA1", "BETA2"),
                   help="Adam's betas (default %s %s%s)" % (d.betas + (_per_setting("betas"),)))
    for name, where in (("r1", "real"), ("r2", "generated")):
        p.add_argument("--" + name, type=float, metavar="GAMMA",
                       help="add %s = (GAMMA/2) mean ||grad_x f||^2 at the %s points to the "
                       "critic's loss, any method (Mescheder et al. 2018) (default %s: off%s)"
                       % (name.upper(), where, getattr(d, name), _per_setting(name)))
    p.add_argument("--gan-loss", dest="gan_loss", choices=GAN_LOSSES,
                   help="the generator's loss, for --method gan (default %s)" % d.gan_loss)
    p.add_argument("--device", choices=DEVICES, help="default %s (gpu: CuPy)" % d.device)
    p.add_argument("--dtype", choices=sorted(DTYPES), help="default %s" % d.dtype)
    p.add_argument("--no-lr-decay", action="store_true",
                   help="keep the learning rates constant (default: a linear decay to 0 at "
                   "--iters)")
    p.add_argument("--warmup", action="store_true",
                   help="100 critic steps for the first 25 iterations and every 500th, as in "
                   "the WGAN paper (any method)")
    p.add_argument("--out", help="the run folder (default runs/METHOD-DATASET); one that "
                   "holds a run is refused unless --resume or --force")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in the folder with its saved settings; flags given "
                   "change them (--iters extends a finished run; learning rates, cadences...), "
                   "except %s, which are the run's" % ", ".join(FIXED))
    p.add_argument("--force", action="store_true",
                   help="replace the run in the folder (its checkpoint, history, metrics and "
                   "figure are deleted)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--no-figure", action="store_true",
                   help="skip figure.png (and the need for matplotlib)")
    threads.add_flag(p, auto=True)


def build_parser():
    from . import __version__
    from .backend import DEVICES, DTYPES
    parser = OneLineParser(
        prog="tinywgan", description="Wasserstein GANs from scratch in NumPy/CuPy, every "
        "gradient derived by hand.", epilog="'python -m tinywgan COMMAND --help' lists a "
        "command's flags.")
    parser.add_argument("--version", action="version", version="tinywgan " + __version__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                title="commands")
    p = sub.add_parser("train", help="train a GAN on a toy distribution or the 8x8 digits and "
                       "write a run folder (the main job)")
    _add_train_flags(p)
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("sample", help="write points from a trained run's generator")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder (train --out)")
    p.add_argument("-n", type=int, default=2500, help="how many points (default 2500)")
    p.add_argument("-o", metavar="FILE", default="points.npy",
                   help="written exactly there; its ending says the format: .npy, .txt or .csv "
                   "(one point per line) (default points.npy)")
    p.add_argument("--seed", type=int, default=0,
                   help="the same seed gives the same points (default 0)")
    p.add_argument("--grid", metavar="FILE.png",
                   help="digits: also draw the first 100 as an image grid (needs matplotlib)")
    p.add_argument("--device", choices=DEVICES, help="default: the run's")
    threads.add_flag(p)
    p.set_defaults(func=cmd_sample)
    p = sub.add_parser("gradcheck", help="every hand-derived gradient against finite "
                       "differences, as a table")
    p.add_argument("--seed", type=int, default=0, help="seed of the random test points")
    threads.add_flag(p)
    p.set_defaults(func=cmd_gradcheck)
    p = sub.add_parser("bench", help="time the gan_toy iteration against the matrix products "
                       "it needs")
    for name, default in (("width", 512), ("depth", 3), ("batch", 256), ("n_critic", 5),
                          ("repeats", 5), ("iters_per_repeat", 3), ("warmup", 2)):
        p.add_argument("--" + name.replace("_", "-"), dest=name, type=int, default=default,
                       help="default %d" % default)
    p.add_argument("--dtype", choices=sorted(DTYPES), default="float32")
    p.add_argument("--device", choices=DEVICES, default="cpu")
    p.add_argument("--fast", action=argparse.BooleanOptionalAction, default=True,
                   help="the fused steps of tinywgan/fast.py (--no-fast: the plain steps of "
                   "tinywgan/core/steps.py)")
    p.add_argument("--json", action="store_true", help="one JSON line")
    threads.add_flag(p)
    p.set_defaults(func=cmd_bench)
    from .bugzoo.cli import add_subcommand as add_bugzoo
    from .exercises.cli import add_subcommand as add_exercises
    from .job.table import add_subcommand as add_table
    add_exercises(sub)
    add_bugzoo(sub)
    add_table(sub)
    return parser


#: What Ctrl-C leaves behind, per command (train and table say it themselves, with numbers).
_STOPPED = {
    "sample": "the points were not written; run it again",
    "gradcheck": "the checks were not finished and no table was printed; run it again "
                 "(it takes seconds)",
    "bench": "nothing was timed to the end and no result was printed; run it again (fewer "
             "--repeats for a quick look)",
    "exercises": "the exercises whose lines are printed above were graded, the others not; "
                 "run it again to grade them all",
    "bugzoo": "no bug's result, table or figure was written; run it again (name some BUGs "
              "for fewer)",
}


def main(argv=None):
    args = None
    try:
        threads.use(threads.from_argv(sys.argv[1:] if argv is None else argv))   # NumPy not yet
        args = parse(build_parser(), argv)
        if getattr(args, "threads", None) not in (None, threads.AUTO) and args.threads < 0:
            return fail("tinywgan " + args.command, "--threads must be >= 0 (0: the BLAS "
                        "library's default), got %d" % args.threads, 2)
        return args.func(args)
    except KeyboardInterrupt:       # one line, exit 130, whatever the command was doing
        if args is None:
            return fail("tinywgan", "interrupted before the command started", INTERRUPTED)
        command = " ".join(filter(None, (args.command, getattr(args, "exercises_command", None))))
        return fail("tinywgan " + command, "interrupted; " + _STOPPED.get(
            args.command, "nothing was finished; run it again"), INTERRUPTED)


if __name__ == "__main__":
    sys.exit(main())
