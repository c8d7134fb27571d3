"""The main job: train, evaluate, and write a run folder.

    RUN_DIR/config.json      the Config
    RUN_DIR/history.jsonl    one JSON object per logged iteration
    RUN_DIR/checkpoint.npz   the latest good state (written atomically at every log step)
    RUN_DIR/metrics.json     w1, w1_floor, modes, modes_total, high_quality (the mixtures), iters,
                             seconds
    RUN_DIR/figure.png       critic contour with real and generated points (the digits:
                             generated and real digits), training curves
"""
import dataclasses
import json
import math
import os
import sys
import time

import numpy as np

from . import backend
from .train import Trainer

CHECKPOINT = "checkpoint.npz"
FLOOR_PAIRS = 3      # the final W1 floor: the mean over three independent real-vs-real pairs


def _write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def progress_printer(stream=None):
    """A ``progress(row, iters)`` callback: iteration, rate, ETA, the W estimate (to stdout)."""
    def progress(row, iters):
        out = stream or sys.stdout
        eta = (iters - row["iter"]) / max(row["it_per_s"], 1e-9)
        extra = ""
        if "w1" in row:
            extra = "  W1 %.4f" % row["w1"]
        if "modes" in row:                                  # the mixtures only
            extra += "  modes %s" % row["modes"]
        out.write("iter %6d/%d  %6.1f it/s  ETA %5.0fs  W est %8.4f%s\n"
                  % (row["iter"], iters, row["it_per_s"], eta, row["w_estimate"], extra))
        out.flush()
    return progress


def train_run(cfg, run_dir, resume=False, quiet=False, figure=True):
    """Train cfg (or resume the run in run_dir), then write the run folder. Returns metrics.

    A checkpoint is written at every log step after the numbers were checked finite, so a
    divergence (``TrainingDiverged``) leaves the last good one in place.
    """
    os.makedirs(run_dir, exist_ok=True)
    ckpt = os.path.join(run_dir, CHECKPOINT)
    if resume:
        trainer = Trainer.from_checkpoint(ckpt)
        trainer.history = _read_history(run_dir, trainer.t)
    else:
        if not cfg.eval_every:              # a W1 curve for the figure, ten points
            every = max(1, cfg.iters // 10 // cfg.log_every) * cfg.log_every
            cfg = dataclasses.replace(cfg, eval_every=every)
        trainer = Trainer(cfg)
        _write_json(os.path.join(run_dir, "config.json"), dataclasses.asdict(trainer.cfg))
        open(os.path.join(run_dir, "history.jsonl"), "w").close()
    if not quiet:
        print("steps: %s" % trainer.describe_steps())

    def on_log(tr, row):
        with open(os.path.join(run_dir, "history.jsonl"), "a") as f:
            f.write(json.dumps(row) + "\n")
        tr.save_checkpoint(ckpt)

    t0 = time.perf_counter()
    trainer.train(progress=None if quiet else progress_printer(), on_log=on_log)
    seconds = time.perf_counter() - t0
    out = trainer.evaluate(floor_pairs=FLOOR_PAIRS)
    out.update(iters=trainer.t, seconds=seconds, method=trainer.cfg.method,
               dataset=trainer.cfg.dataset, device=trainer.cfg.device)
    out["w1_ratio"] = out["w1"] / out["w1_floor"] if out["w1_floor"] > 0 else math.inf
    _write_json(os.path.join(run_dir, "metrics.json"), out)
    if figure:
        from .plot import run_figure
        run_figure(trainer, os.path.join(run_dir, "figure.png"))
    return out


def _read_history(run_dir, t):
    rows = []
    path = os.path.join(run_dir, "history.jsonl")
    if os.path.exists(path):
        with open(path) as f:
            rows = [json.loads(line) for line in f if line.strip()]
    return [r for r in rows if r["iter"] <= t]


def sample_run(run_dir, n, out_path, device=None):
    """Write n points from the run's saved generator to out_path (.npy, host float32)."""
    trainer = Trainer.from_checkpoint(os.path.join(run_dir, CHECKPOINT), device=device)
    points = backend.to_numpy(trainer.sample(n, ("cli-sample",))).astype(np.float32)
    np.save(out_path, points, allow_pickle=False)
    return points
