"""The main job: train (or resume), evaluate, and write a run folder (``tinywgan.job.runfolder``
lists its files and the rules that keep them trustworthy); and sample from a saved run.

    train_run(cfg, "runs/a")                              # a new run; refuses a folder that
                                                          # holds one unless force=True
    train_run(None, "runs/a", resume=True, changes={"iters": 16000})    # continue, extended

Ctrl-C during training ends the run after the iteration in progress, writes the checkpoint at
that iteration, and raises KeyboardInterrupt (a second Ctrl-C stops at once; the checkpoint
on disk is then the last one written). ``folder.saved`` always names the iteration on disk.
"""
import contextlib
import dataclasses
import math
import os
import shlex
import signal
import sys

import numpy as np

from .. import backend, threads, validate
from . import checkpoint, preflight
from ..measure.data import DIGITS_N
from .runfolder import RunFolder, RunFolderError
from .training import TrainingJob, TrainingDiverged

FLOOR_PAIRS = 3      # the final W1 floor: the mean over three independent real-vs-real pairs
CURVE_POINTS = 10    # a new run evaluates ten times for its W1 curve unless told otherwise


def curve_every(cfg):
    """Evaluate CURVE_POINTS times over the run, at log steps: iters / 10 rounded down to a
    multiple of log_every (at least one log step)."""
    return max(1, cfg.iters // CURVE_POINTS // cfg.log_every) * cfg.log_every


def resume_command(folder):
    """The command that continues the run in ``folder``."""
    return "python -m tinywgan train --out %s --resume" % shlex.quote(folder.path)


def progress_printer(stream=None):
    """A ``progress(row, iters)`` callback: iteration, rate, ETA, the W estimate (to stdout)."""
    def progress(row, iters):
        out = stream or sys.stdout
        eta = (iters - row["iter"]) / max(row["it_per_s"], 1e-9)
        extra = ""
        if "w1" in row:
            extra = "  W1 %.4f (%d pts)" % (row["w1"], row["eval_n"])
        if "modes" in row:                                  # the mixtures only
            extra += "  modes %d/%d" % (row["modes"], row["modes_total"])
        out.write("iter %6d/%d  %6.1f it/s  ETA %5.0fs  W est %8.4f%s\n"
                  % (row["iter"], iters, row["it_per_s"], eta, row["w_estimate"], extra))
        out.flush()
    return progress


def train_run(cfg, run_dir, resume=False, force=False, changes=None, quiet=False, figure=True):
    """Train ``cfg`` into ``run_dir`` (a path or a RunFolder), or resume the run there with
    ``changes`` over its saved config; then evaluate and write the run folder. Returns metrics.

    Everything that can be checked is checked before the folder is touched: the config, the
    checkpoint (resume), the memory, the optional libraries. A new run refuses a folder that
    holds one unless ``force`` (which deletes its files). A checkpoint is written at every
    ``checkpoint_every``-th log step (0: every one) and at the end, after the numbers were
    checked finite, so a divergence (``TrainingDiverged``) leaves the last good one.
    The header, the progress and the notes (a stale lock, temporary files deleted, history cut
    back) go to stdout; ``quiet``: the header and the notes only.
    """
    folder = run_dir if isinstance(run_dir, RunFolder) else RunFolder(run_dir)
    if resume == (cfg is not None) or (resume and force):
        raise ValueError("train_run: give cfg for a new run (force to replace one), or "
                         "resume=True with changes, not both")
    if os.path.isdir(folder.path):
        folder.check_files()
    if resume:
        if not os.path.isfile(folder.file("checkpoint.npz")):
            raise RunFolderError("%s holds no checkpoint.npz to resume (a run writes its first "
                                 "at its first log step): train it anew without --resume"
                                 % folder.path)
        trainer = TrainingJob.from_checkpoint(folder.file("checkpoint.npz"), changes=changes)
        # a metrics.json of this very iteration written by an older tinywgan may report more
        # seconds than its checkpoint holds (the time after the last log step): never fewer
        # (then the checkpoint is written again at the end, with them: saved_seconds None)
        reported = _reported_seconds(folder, trainer.t)
        folder.saved, folder.saved_seconds = trainer.t, trainer.seconds
        if reported > trainer.seconds:
            trainer.seconds, folder.saved_seconds = reported, None
    else:
        trainer = TrainingJob(cfg)
    folder.cfg = cfg = trainer.cfg
    preflight.check_memory(preflight.estimate(cfg))         # a step and the evaluations too
    preflight.require(preflight.needed(cfg, figure), {"matplotlib": "; or add --no-figure"})
    os.makedirs(folder.path, exist_ok=True)
    try:
        notes = folder.lock()
        if resume:
            trainer.history, more = folder.history(trainer.t)
            notes += more
        else:
            held = folder.holds_run()
            if held and not force:
                raise RunFolderError("%s holds a run (%s): continue it with --resume, train into "
                                     "another folder with --out, or replace it with --force"
                                     % (folder.path, held))
            if not force:                   # rows of a run killed before its first
                note = folder.set_aside("history.jsonl", "rows of a run that wrote no "
                                        "checkpoint; this run starts again")
                notes += [note] if note else []
            folder.clear()
            folder.write("history.jsonl", lambda f: None)
        folder.write_json("config.json", dataclasses.asdict(cfg))
        _header(trainer, folder, resume, quiet, notes)
        return _train_and_write(trainer, folder, quiet, figure)
    finally:
        folder.unlock()


def _reported_seconds(folder, t):
    """The seconds metrics.json reports for iteration t, or 0 (no such file, another
    iteration, not a number: it is only a lower bound, never an error)."""
    import json
    try:
        if os.path.getsize(folder.file("metrics.json")) > 1 << 20:
            return 0.0
        with open(folder.file("metrics.json"), "rb") as f:
            found = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return 0.0
    seconds = found.get("seconds") if isinstance(found, dict) else None
    if type(found.get("iters") if isinstance(found, dict) else None) is not int or \
            found["iters"] != t or type(seconds) not in (int, float) or \
            not 0 <= seconds < math.inf:
        return 0.0
    return float(seconds)


def _header(trainer, folder, resume, quiet, notes):
    cfg = trainer.cfg
    for note in notes:
        print("note: " + note)
    print("tinywgan train: %s%s on %s, %d iterations, %s -> %s"
          % ("resuming at iteration %d: " % trainer.t if resume else "", cfg.method,
             cfg.dataset, cfg.iters, cfg.device, folder.path))
    if trainer.changed:
        print("changed: " + ", ".join("%s %s -> %s" % (k, old, new)
                                      for k, (old, new) in trainer.changed.items()))
        if "iters" in trainer.changed and cfg.lr_decay:
            print("note: the learning rates now decay to 0 at iteration %d (at %d they are %.0f %% "
                  "of lr_d, lr_g)" % (cfg.iters, trainer.t, 100 * (1 - trainer.t / cfg.iters)))
    if trainer.chooser is not None:
        print("threads: auto, one BLAS thread or %d (every core), whichever runs the iterations "
              "faster, timed as it goes (--threads N fixes the count)" % trainer.chooser.counts[1])
    else:
        print("threads: %s" % threads.describe(
            "threadpoolctl is not installed, so auto cannot change the count: pip install "
            "threadpoolctl" if cfg.threads == threads.AUTO and cfg.device == "cpu" else
            "--threads N changes it; 0: the BLAS library's default"))
    if not quiet:
        print("steps: %s" % trainer.describe_steps())
        print("samples: %s" % ("the moving average of the generator's weights, decay %g (--ema "
                               "0: the last iterate)" % cfg.ema if cfg.ema else
                               "the generator's last iterate (--ema 0.999: a moving average)"))
        print("evaluation: exact W1 on %d points %s; the final one on %d points, against a "
              "floor of %d real-vs-real pairs"
              % (cfg.curve_n, "every %d iterations" % cfg.eval_every if cfg.eval_every
                 else "never during training", min(cfg.eval_n, DIGITS_N // (FLOOR_PAIRS + 1))
                 if cfg.dataset == "digits" else cfg.eval_n, FLOOR_PAIRS))


def _train_and_write(trainer, folder, quiet, figure):
    cfg = trainer.cfg

    def on_log(tr, row):
        folder.append_history(row)
        if not cfg.checkpoint_every or tr.t % cfg.checkpoint_every == 0 or tr.t == cfg.iters:
            _save(tr, folder)

    with _stop_on_ctrl_c() as stopped:
        trainer.train(progress=None if quiet else progress_printer(), on_log=on_log,
                      stop=stopped)
    if stopped():
        _save(trainer, folder)
        raise KeyboardInterrupt
    if folder.saved != trainer.t or trainer.changed or folder.saved_seconds is None:
        _save(trainer, folder)            # a resumed run with nothing left to do, or changed
    out = trainer.evaluate(floor_pairs=FLOOR_PAIRS)
    # the seconds are the checkpoint's (at this t), which a resume adds to: never fewer than
    # a metrics.json reported before (the loop's time after the last log step is not counted)
    out.update(iters=trainer.t, seconds=folder.saved_seconds, method=cfg.method,
               dataset=cfg.dataset, device=cfg.device)
    if trainer.chooser is not None:                 # this session's iterations at each count
        out["blas_threads"] = {str(n): k for n, k in trainer.chooser.iterations.items()}
    out["w1_ratio"] = out["w1"] / out["w1_floor"] if out["w1_floor"] > 0 else math.inf
    folder.write_json("metrics.json", out)
    if figure:
        from ..measure.plot import run_figure
        folder.write("figure.png", lambda f: run_figure(trainer, f))
    return out


def _save(trainer, folder):
    """The checkpoint, if every number in it is finite (on a device the step's numbers are
    checked only at log steps: a Ctrl-C between them is checked here)."""
    xp = trainer.xp
    bad = [k for k, a in trainer.state_arrays().items()
           if getattr(a, "dtype", np.dtype(int)).kind == "f" and not bool(xp.isfinite(a).all())]
    if bad:
        raise TrainingDiverged(trainer.t, bad, "NaN or inf")
    folder.save_checkpoint(trainer)


@contextlib.contextmanager
def _stop_on_ctrl_c():
    """While inside: the first Ctrl-C asks the loop to stop after the iteration in progress
    (yields the function that says whether it was asked); the second stops at once."""
    asked = []

    def handler(signum, frame):
        if asked:
            raise KeyboardInterrupt
        asked.append(signum)
    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:                  # not the main thread: Ctrl-C stays as it was
        previous = None
    try:
        yield lambda: bool(asked)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


# ---- sample -------------------------------------------------------------------------------------
#: The formats ``sample_run`` writes, by the output's extension.
SAMPLE_FORMATS = (".npy", ".txt", ".csv")


def sample_run(run_dir, n, out_path, device=None, seed=0, grid=None):
    """Write n points from the run's saved generator to exactly ``out_path``: .npy (host
    float32), .txt or .csv (one point per line); with ``grid`` (digits only), also the first
    100 as an image grid (.png). Draws come from the stream (cfg.seed, "cli-sample", seed):
    the same seed gives the same points. Everything is checked before anything is written.
    Returns (points: (n, d) float32, the run's Config)."""
    validate.count("n", n)
    validate.count("seed", seed, low=0)
    paths = [("-o", out_path, SAMPLE_FORMATS)] + ([("--grid", grid, (".png",))] if grid is not
                                                   None else [])
    for flag, path, formats in paths:
        _check_output(flag, path, formats)
    ckpt = os.path.join(os.fspath(run_dir), "checkpoint.npz")
    if not os.path.isfile(ckpt):
        raise RunFolderError("%s holds no checkpoint.npz: is it a run folder (tinywgan train "
                             "--out %s)?" % (run_dir, run_dir))
    trainer = TrainingJob.from_checkpoint(ckpt, device=device)
    cfg = trainer.cfg
    if grid is not None and cfg.dataset != "digits":
        raise ValueError("--grid draws digits; this run's dataset is %s (points in the plane): "
                         "leave --grid out" % cfg.dataset)
    preflight.require((["matplotlib"] if grid is not None else []) +
                      (["cupy"] if cfg.device == "gpu" else []))
    preflight.check_memory(preflight.estimate(cfg, sample_rows=n))
    points = backend.to_numpy(trainer.sample(n, ("cli-sample", seed))).astype(np.float32)
    bad = int((~np.isfinite(points)).any(axis=1).sum())
    if bad:
        raise ValueError("%d of the %d points are NaN or inf: the generator overflows float32 "
                         "here; nothing was written" % (bad, n))
    ext = os.path.splitext(out_path)[1].lower()
    checkpoint.atomic_write(out_path, lambda f: np.lib.format.write_array(
        f, points, allow_pickle=False) if ext == ".npy" else np.savetxt(
        f, points, fmt="%.8g", delimiter="," if ext == ".csv" else " "))
    if grid is not None:
        checkpoint.atomic_write(grid, lambda f: _digit_grid(points[:100], f))
    return points, cfg


def _check_output(flag, path, formats):
    """An output path the command can honour, or a ValueError saying why not."""
    if not isinstance(path, str) or not path:
        raise ValueError("%s must name a file, got %r" % (flag, path))
    if os.path.isdir(path):
        raise ValueError("%s %s is a folder; name a file in it (%s)"
                         % (flag, path, os.path.join(path, "points" + formats[0])))
    if os.path.splitext(path)[1].lower() not in formats:
        raise ValueError("%s %s: the name must end in %s, which says the format"
                         % (flag, path, " or ".join(formats)))
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError("%s %s: the folder %s does not exist; create it or name another"
                         % (flag, path, folder))


def _digit_grid(images, f):
    from ..measure.plot import draw_digits, pyplot
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 0.6 * (-(-len(images) // 10)) + 0.6))
    draw_digits(ax, images, title="%d generated digits (pixels in [-1, 1], white = 1)"
                % len(images))
    fig.savefig(f, dpi=110, format="png", bbox_inches="tight")
    plt.close(fig)
