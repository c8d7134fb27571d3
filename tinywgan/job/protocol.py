r"""The published mode-collapse protocol, run on every method of the library and printed beside
the published rows: ``python -m tinywgan table``.

**The protocol** (Srivastava et al. 2017, "VEEGAN: Reducing Mode Collapse in GANs using Implicit
Variational Learning", Sec. 5.1 and Table 1; Lin et al. 2018, "PacGAN: The Power of Two Samples
in Generative Adversarial Networks", Sec. 5 and Table 1):

- data, unscaled (``data.ring``, ``data.grid``): a ring of 8 distinct centres on the unit circle,
  std 0.01; a grid of 25 centres {-4, -2, 0, 2, 4}^2, std 0.05;
- each trained generator draws 2 500 samples; a sample is *high quality* within 3 std of its
  nearest centre, a mode is *captured* when a high-quality sample is nearest it
  (``metrics.mode_counts``); PacGAN's *reverse KL* compares the high-quality samples' spread over
  the modes with the data's uniform one (``metrics.mode_reverse_kl``);
- mean +- standard error over independent runs: 5 (VEEGAN; our default), 10 (PacGAN; ``--full``).

Each row trains with the library's own defaults for the dataset and method (``config.py``:
``DATASET_DEFAULTS`` for ring and grid, ``METHOD_DEFAULTS``), seeds 0..n-1. The standard error
is the sample standard deviation over the seeds / sqrt(n).

**The published rows** (``PUBLISHED``) are copied from the papers' Table 1. They were measured
under the protocol each paper names, which differ: VEEGAN's and GDPP's ring code places its 8
centres at linspace(0, 2 pi, 8), whose first and last coincide (7 distinct centres); PacGAN's
has 8 and reports 10 trials. Their networks and budgets differ too (PacGAN: batch 100, Adam
1e-4 with beta1 0.8, 400 epochs of 100 000 samples; GDPP's WGAN-GP: 25 000 iterations, batch
512). Compare within one protocol, and read the others as what they are.

Runs are independent: ``run`` spreads them over ``jobs`` worker processes, each with one BLAS
thread (the networks are small; two processes use two cores better than one with two threads).
"""
import math
import os
import textwrap
import time

import numpy as np

from .. import backend
from ..measure import data, metrics, texttable
from ..threads import VARIABLES
from .config import make_config
from ..validate import choice, count

#: The datasets of the protocol (``data.ring``, ``data.grid``).
DATASETS = ("ring", "grid")
#: Samples drawn from each trained generator.
N_SAMPLES = 2500
#: Runs per row: VEEGAN's 5 by default, PacGAN's 10 with --full.
SEEDS, SEEDS_FULL = 5, 10
#: R1's gamma in the GAN + R1 row, per dataset (Mescheder et al. 2018; ``steps.critic_grads``).
#: R1 = (gamma/2) E||grad_x f||^2 fights the slopes a discriminator needs to resolve a mode, and
#: those grow as the mode's std shrinks: measured on the ring (std 0.01), seed 0, gamma 10
#: left 2/8 modes and 1.6 % high quality, gamma 1 8/8 and 96.2 %, gamma 0.1 8/8 and 98.2 %;
#: on the grid (std 0.05) gamma 10 keeps 25/25.
R1_GAMMA = {"ring": 0.1, "grid": 10.0}

#: Every method of the library, the GAN with R1, and RpGAN with R1 and R2 at that same gamma
#: (Huang et al. 2024's R3GAN: one gamma for both): (label, Config fields; a dict value is per
#: dataset).
ROWS = (("WGAN-GP", dict(method="wgan-gp")),
        ("WGAN-LP", dict(method="wgan-lp")),
        ("WGAN (clipping)", dict(method="wgan")),
        ("WGAN (spectral norm)", dict(method="wgan-sn")),
        ("WGAN (GroupSort)", dict(method="wgan-gs")),
        ("GAN", dict(method="gan")),
        ("GAN + R1", dict(method="gan", r1=R1_GAMMA)),
        ("RpGAN + R1 + R2", dict(method="rpgan", r1=R1_GAMMA, r2=R1_GAMMA)))

#: The published rows: (source, method, {dataset: (modes, high quality %, reverse KL or None)}).
PUBLISHED = (
    ("VEEGAN Table 1", "GAN", {"ring": (1.0, 99.3, None), "grid": (3.3, 0.5, None)}),
    ("VEEGAN Table 1", "Unrolled GAN", {"ring": (7.6, 35.6, None), "grid": (23.6, 16.0, None)}),
    ("VEEGAN Table 1", "VEEGAN", {"ring": (8.0, 52.9, None), "grid": (24.6, 40.0, None)}),
    ("GDPP Table 1", "WGAN-GP", {"ring": (6.8, 59.6, None), "grid": (24.2, 28.7, None)}),
    ("GDPP Table 1", "GDPP-GAN", {"ring": (8.0, 71.7, None), "grid": (24.8, 68.5, None)}),
    ("PacGAN Table 1", "GAN", {"ring": (6.3, 98.2, 0.45), "grid": (17.3, 94.8, 0.70)}),
    ("PacGAN Table 1", "PacGAN4", {"ring": (7.8, 95.9, 0.07), "grid": (24.8, 93.6, 0.04)}),
)

#: The protocol each source ran, in a line.
PROTOCOLS = {
    "VEEGAN Table 1": "Srivastava et al. 2017: 2 500 samples, 5 runs; ring code with 7 distinct "
                      "centres",
    "GDPP Table 1": "Elfeki et al. 2019, 'GDPP: Learning Diverse Generations Using "
                    "Determinantal Point Processes': VEEGAN's protocol and ring code",
    "PacGAN Table 1": "Lin et al. 2018: 2 500 samples, 10 trials, 8 distinct centres; reverse KL",
}


def score(samples, dataset):
    """The protocol's three numbers for ``samples: (N, 2)`` of ``dataset`` (host or device).
    Returns {"modes", "modes_total", "high_quality" (a fraction), "reverse_kl" (None when no
    sample is high quality)}."""
    choice("dataset", dataset, data.MIXTURES)
    counts = metrics.mode_counts(samples, data.centres(dataset), data.mode_std(dataset))
    return {"modes": int((counts > 0).sum()), "modes_total": int(counts.size),
            "high_quality": float(counts.sum() / len(samples)),
            "reverse_kl": metrics.mode_reverse_kl(counts)}


def run_one(dataset, label, seed, iters=None, keep_samples=False):
    """Train the row ``label`` on ``dataset`` with seed ``seed`` (the defaults for both, and
    ``iters`` if given), draw N_SAMPLES and score them. Returns a dict: dataset, label, seed,
    iters, the scores, seconds (wall) and cpu_seconds of training and scoring, and with
    ``keep_samples`` the samples as a nested list."""
    from .training import TrainingJob                    # (train imports config; keep this light)
    fields = {k: v[dataset] if isinstance(v, dict) else v for k, v in dict(ROWS)[label].items()}
    cfg = make_config(dataset=dataset, seed=seed, iters=iters, **fields)
    t0, c0 = time.perf_counter(), time.process_time()
    trainer = TrainingJob(cfg)
    trainer.train()
    samples = backend.to_numpy(trainer.sample(N_SAMPLES, ("protocol",))).astype(np.float64)
    out = dict(dataset=dataset, label=label, seed=seed, iters=cfg.iters, **score(samples, dataset))
    out.update(seconds=time.perf_counter() - t0, cpu_seconds=time.process_time() - c0)
    if keep_samples:
        out["samples"] = samples.tolist()
    return out


def _run_task(task):
    """``run_one(*task)``, for a worker pool's imap."""
    return run_one(*task)


def run(datasets=DATASETS, labels=None, seeds=SEEDS, jobs=2, iters=None, progress=None):
    """Every (dataset, row, seed) run, over ``jobs`` worker processes (1: in this process).
    ``progress(done, total, result)`` after each. Returns the results in a fixed order; seed
    0's keep their samples (for the figure)."""
    labels = [label for label, _ in ROWS] if labels is None else list(labels)
    for d in datasets:
        choice("dataset", d, DATASETS)
    for label in labels:
        choice("row", label, tuple(dict(ROWS)))
    seeds, jobs = count("seeds", seeds), count("jobs", jobs)
    if iters is not None:
        count("iters", iters)
    tasks = [(d, label, s, iters, s == 0) for d in datasets for label in labels
             for s in range(seeds)]
    results = []

    def done(r):
        results.append(r)
        if progress is not None:
            progress(len(results), len(tasks), r)

    if jobs == 1:
        for task in tasks:
            done(run_one(*task))
    else:
        import multiprocessing
        from ..oneline import ignore_sigint, worker_init
        saved = {k: os.environ.get(k) for k in VARIABLES}
        os.environ.update({k: "1" for k in VARIABLES})      # inherited by the spawned workers
        try:
            # Ctrl-C reaches this process alone (the workers ignore it from their start), and
            # leaving the block terminates the workers at once: a KeyboardInterrupt, or an
            # error in one run, leaves no process behind and waits for no run to finish.
            with ignore_sigint():
                pool = multiprocessing.get_context("spawn").Pool(
                    max(1, min(jobs, len(tasks))), initializer=worker_init)
            with pool:
                for r in pool.imap_unordered(_run_task, tasks):
                    done(r)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    order = {task[:3]: i for i, task in enumerate(tasks)}
    return sorted(results, key=lambda r: order[r["dataset"], r["label"], r["seed"]])


def _mean_se(values):
    """(mean, standard error = sample sd / sqrt(n)) of the values that are not None; (None,
    None) if there are none. One value: its s.e. is 0."""
    v = np.array([x for x in values if x is not None], dtype=np.float64)
    if v.size == 0:
        return None, None
    se = float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else 0.0
    return float(v.mean()), se


def summarise(results):
    """Per (dataset, row): mean and standard error of modes, high quality (%), reverse KL, and
    of each run's wall seconds; the number of runs. Returns {dataset: {label: dict}}."""
    out = {}
    for r in results:
        out.setdefault(r["dataset"], {}).setdefault(r["label"], []).append(r)
    summary = {}
    for d, rows in out.items():
        summary[d] = {}
        for label, runs in rows.items():
            s = {"runs": len(runs), "modes_total": runs[0]["modes_total"],
                 "iters": runs[0]["iters"]}
            for key, scale in (("modes", 1), ("high_quality", 100), ("reverse_kl", 1),
                               ("seconds", 1), ("cpu_seconds", 1)):
                m, se = _mean_se([None if r[key] is None else r[key] * scale for r in runs])
                s[key] = m
                s[key + "_se"] = se
            s["no_reverse_kl"] = sum(r["reverse_kl"] is None for r in runs)
            summary[d][label] = s
    return summary


def _cell(m, se, digits):
    if m is None:
        return "-"
    return "%.*f +- %.*f" % (digits, m, digits, se)


def format_table(summary, seeds):
    """The text table: tinywgan's rows (mean +- s.e. over ``seeds`` runs, seconds per run), then
    the published ones, each source's protocol named under the table."""
    datasets = [d for d in DATASETS if d in summary]
    head = ["source", "method"]
    for d in datasets:
        head += ["%s modes" % d, "%s HQ %%" % d, "%s rev. KL" % d, "%s s/run (cpu)" % d]
    rows = []
    labels = [label for label, _ in ROWS if any(label in summary[d] for d in datasets)]
    for label in labels:
        row = ["tinywgan (%d seeds)" % seeds, label]
        for d in datasets:
            s = summary[d].get(label)
            if s is None:
                row += ["-"] * 4
                continue
            row += [_cell(s["modes"], s["modes_se"], 1),
                    _cell(s["high_quality"], s["high_quality_se"], 1),
                    _cell(s["reverse_kl"], s["reverse_kl_se"], 2),
                    "%.0f (%.0f)" % (s["seconds"], s["cpu_seconds"])]
        rows.append(row)
    for source, method, cells in PUBLISHED:
        row = [source, method]
        for d in datasets:
            modes, hq, rkl = cells[d]
            row += ["%.1f" % modes, "%.1f" % hq, "-" if rkl is None else "%.2f" % rkl, "-"]
        rows.append(row)
    rows.insert(len(labels), None)                     # a blank line before the published rows
    lines = [texttable.format_table(head, rows, rule=True)]
    notes = [("tinywgan", "this command: 8 distinct ring centres, %d samples per run, high "
                          "quality within 3 std, reverse KL = KL(the high-quality samples' modes "
                          "|| uniform) in nats as PacGAN; mean +- standard error over seeds "
                          "0..%d; s/run: wall (and CPU) seconds of one run, training and scoring"
              % (N_SAMPLES, seeds - 1))] + list(PROTOCOLS.items())
    lines += ["", "Protocols:"] + [textwrap.fill("%s: %s" % note, 100, initial_indent="  ",
                                                 subsequent_indent="    ") for note in notes]
    return "\n".join(lines)


def figure(results, path):
    """The samples of each row's seed-0 run over the centres, one panel per (dataset, row),
    titled with its scores. Writes ``path`` (PNG)."""
    from ..measure.plot import pyplot
    plt = pyplot()
    kept = [r for r in results if "samples" in r]
    datasets = [d for d in DATASETS if any(r["dataset"] == d for r in kept)]
    labels = [label for label, _ in ROWS if any(r["label"] == label for r in kept)]
    fig, axes = plt.subplots(len(datasets), len(labels), squeeze=False,
                             figsize=(2.8 * len(labels), 3.0 * len(datasets)))
    for i, d in enumerate(datasets):
        c, lim = data.centres(d), 1.5 if d == "ring" else 5.5
        for j, label in enumerate(labels):
            ax = axes[i][j]
            r = next((r for r in kept if r["dataset"] == d and r["label"] == label), None)
            if r is not None:
                x = np.asarray(r["samples"])
                ax.scatter(x[:, 0], x[:, 1], s=1, c="tab:green", alpha=0.4, label="generated")
                ax.set_title("%s, %s: %d/%d modes\n%.1f %% high quality (seed 0)"
                             % (label, d, r["modes"], r["modes_total"],
                                100 * r["high_quality"]), fontsize=8)
            ax.scatter(c[:, 0], c[:, 1], marker="x", s=15, c="tab:orange", label="centres")
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.set_aspect("equal")
            ax.tick_params(labelsize=7)
    axes[0][0].legend(fontsize=7, loc="lower left")
    fig.suptitle("%d samples of each seed-0 run (green) over the centres (x)" % N_SAMPLES,
                 fontsize=9)
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
