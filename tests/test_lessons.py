"""Tests that hold each lesson: the number that carries a demo's lesson, asserted at a budget CI
can afford (the demo itself, run with flags that shrink it but keep what it shows), not only
that the demo ran. The smoke runs of every demo are in test_demos.py."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUMBER = r"[-+]?\d+(?:\.\d*)?(?:e[-+]?\d+)?"


def run_lesson(demo, cwd, *flags):
    """stdout of ``python demos/<demo> <flags>`` at the default budget, in ``cwd``."""
    env = dict(os.environ, MPLBACKEND="Agg",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for budget in ("TINYWGAN_SMOKE", "TINYWGAN_FULL"):
        env.pop(budget, None)
    out = subprocess.run([sys.executable, os.path.join(ROOT, "demos", demo), *flags], cwd=cwd,
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def numbers_after(label, line):
    """The numbers on ``line`` after its label (a '-' counts as a missing number: None)."""
    assert line.startswith(label), (label, line)
    return [None if v == "-" else float(v.rstrip("%"))
            for v in re.findall(r"%s%%?|(?<=\s)-(?=\s|$)" % NUMBER, line[len(label):])]


# ---- 7. Weight clipping against the gradient penalty ----------------------------------------
def test_07_clipping_vanishes_or_explodes_and_the_penalty_keeps_the_gradient_level(tmp_path):
    """The 12-layer critic of a WGAN trained 100 generator iterations (batch 64; RMSProp at 5e-4,
    ten times the lesson's, so that c = 0.1's weights align in 100 iterations, not 1000):

    - c = 0.01: the gradient w.r.t. the input is below 1e-6 of the one at the last hidden layer,
      its weights sit at +-c, and its generator never moves (W1 unchanged to the last digit);
    - c = 0.1: it grows more than 100-fold on the way down (about 900 here, 12000 in the
      lesson's run);
    - the penalty: every layer's within a factor of 4 of the last's, and the trained weights are
      not their start (moved by more than 5 %, correlation below 0.999).
    """
    out = run_lesson("07_clipping_vs_penalty.py", tmp_path, "--clips", "0.1", "0.01",
                     "--methods", "wgan-gp", "--iters", "100", "--batch", "64",
                     "--lr-rmsprop", "5e-4", "--measure-batches", "2", "--eval-n", "100")
    lines = out.splitlines()
    norms = {}                                     # layer l -> [c = 0.1, c = 0.01, GP]
    for line in lines:
        m = re.match(r"(\d+)(?: \(= x\))?((?:\s+%s){3})$" % NUMBER, line)
        if m:
            norms[int(m.group(1))] = [float(v) for v in m.group(2).split()]
    top = max(norms)
    assert sorted(norms) == list(range(13)), out
    clip_big, clip_small, penalty = ([norms[l][k] / norms[top][k] for l in range(top + 1)]
                                     for k in range(3))
    assert clip_small[0] < 1e-6, clip_small
    assert clip_big[0] > 100, clip_big
    assert all(0.25 < g < 4 for g in penalty), penalty

    weights = {}                                   # setting -> its row of the weights' table
    for line in lines:
        m = re.match(r"(clip c=\S+|GP lam=\S+) ", line)
        if m and "%" in line:
            weights[m.group(1)] = numbers_after(m.group(1), line)
    at_c, _, _, _, _, _, w1_start, w1_end = weights["clip c=0.01"]
    assert at_c >= 90 and w1_end == w1_start, weights
    _, _, moved, corr, *_ = weights["GP lam=10"]
    assert moved > 5 and corr < 0.999, weights


# ---- 8. What each critic sees ------------------------------------------------------------------
def test_08_the_penalised_critic_peaks_on_the_modes_where_the_clipped_one_is_a_plain_hill(
        tmp_path):
    """Critics trained 400 steps against real + N(0, I) on the ring and the grid (the swissroll's
    lesson, that no critic trained this briefly follows the spiral, needs the full budget):

    - the penalised critic's local contrast is above 1.5 times the clipped one's and above
      spectral norm's (it is the one that bends around the modes);
    - the exact optimum peaks on the modes (contrast above 0.6, above twice the penalised
      critic's) and captures more than 90 % of W1 on held-out points.
    """
    out = run_lesson("08_critic_surfaces.py", tmp_path, "--datasets", "8gaussians",
                     "25gaussians", "--steps", "400", "--grid", "32", "--n-eval", "300",
                     "--n-optimal", "300")
    table = {}                                     # (dataset, critic) -> its row's numbers
    for line in out.splitlines():
        m = re.match(r"(8gaussians|25gaussians) +(weight clipping|gradient penalty|spectral norm|"
                     r"optimal \(exact\))((?: +%s){6})$" % NUMBER, line)
        if m:
            table[m.group(1), m.group(2)] = [float(v) for v in m.group(3).split()]
    assert len(table) == 8, out
    for dataset in ("8gaussians", "25gaussians"):
        share, contrast = {}, {}
        for critic in ("weight clipping", "gradient penalty", "spectral norm",
                       "optimal (exact)"):
            *_, share[critic], contrast[critic] = table[dataset, critic]
        assert contrast["gradient penalty"] > 1.5 * contrast["weight clipping"], contrast
        assert contrast["gradient penalty"] > contrast["spectral norm"], contrast
        assert contrast["optimal (exact)"] > max(0.6, 2 * contrast["gradient penalty"]), contrast
        assert share["optimal (exact)"] > 0.9, share
