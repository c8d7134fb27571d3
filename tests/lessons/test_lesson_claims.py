"""Each lesson's claim, held at a budget CI can afford: the demo runs with its own flags at a
smaller but still meaningful configuration, and the test asserts the number that carries the
lesson, not only that it ran. (Each test is named after its lesson's number.)"""
import os
import re
import subprocess
import sys

import pytest

from test_demos_run import ROOT, run_smoke

FLOAT = r"[-+]?\d+(?:\.\d*)?(?:e[-+]?\d+)?"       # a number
NUMBER = "(%s)" % FLOAT                                # ... captured


def run_lesson(script, tmp_path, *flags):
    """The script's stdout at the smoke budget with these flags over it (flags win)."""
    return run_smoke(os.path.join(ROOT, script), tmp_path, *flags)


def row(stdout, label, count):
    """The ``count`` numbers after ``label`` at the start of a line of the lesson's table."""
    match = re.search(r"^%s\s+%s" % (re.escape(label), r"\s+".join([NUMBER] * count)), stdout,
                      re.M)
    assert match, "no row %r in:\n%s" % (label, stdout)
    return [float(x) for x in match.groups()]


def test_04_minimax_vanishes_non_saturating_grows_and_spreads_wgan_gp_stays(tmp_path):
    """Against a frozen generator: the minimax gradient falls by orders of magnitude, the
    non-saturating one grows and so does its spread over the samples (Arjovsky and Bottou
    2017, Sec. 2.2.2), while the WGAN-GP critic's stays near 1 and does not spread."""
    out = run_lesson("demos/04_vanishing_gradients.py", tmp_path, "--iters", "400", "--every",
                     "100", "--width", "64", "--n-measure", "512")
    columns = "size0 size1 size_ratio orders spread0 spread1 spread_ratio".split()
    minimax, nonsat, gp = (dict(zip(columns, row(out, name, 7))) for name in
                           ("minimax log(1 - D)", "non-saturating -log D", "WGAN-GP critic -f"))
    assert minimax["size_ratio"] < 1e-2                                    # measured 6e-4
    assert nonsat["size_ratio"] > 5 and nonsat["spread_ratio"] > 5         # 23 and 14
    assert 0.2 < gp["size1"] < 2 and gp["spread_ratio"] < 1                # 0.94 and 0.12
    assert nonsat["spread1"] > 10 * gp["spread1"]                          # 13 against 0.10


def test_06_each_methods_verdict_is_what_its_words_say(tmp_path):
    """The Dirac-GAN's 3 000 iterations from (1, 1), as the README tells them: the rates at the
    equilibrium say "spiral out" for the GAN and the WGAN, but only the minimax GAN's
    simultaneous run moves away; the non-saturating GAN spirals in to a cycle (distance 0.447
    from 1.41) and creeps in alternating; the clip holds the WGAN at distance 1; WGAN-GP stops
    at (2 lam, 0); R1 and instance noise converge."""
    out = run_lesson("demos/06_dirac_gan.py", tmp_path, "--iters", "3000")
    runs = {}                                   # (method, updates) -> (dist T/2, dist T, verdict)
    for m in re.finditer(r"(?m)^(.+?)\s+(simultaneous|alternating)\s+\S+ \|\s+\S+\s+%s\s+%s"
                         r"\s+\S+\s+(.+?)\s*$" % (NUMBER, NUMBER), out):
        runs[m.group(1), m.group(2)] = float(m.group(3)), float(m.group(4)), m.group(5)
    verdicts = {k: v[2] for k, v in runs.items()}
    for updates in ("simultaneous", "alternating"):
        assert verdicts["WGAN, clipped |psi| <= 1", updates] == "circles", out
        assert abs(runs["WGAN, clipped |psi| <= 1", updates][1] - 1) < 0.05, out
        for gp in ("WGAN-GP, 1 critic step", "WGAN-GP, 5 critic steps"):
            assert verdicts[gp, updates] == "stops at (2.000, 0.000)", out
        for label in ("GAN + R1 (gamma 0.3)", "GAN + instance noise (sigma 1)"):
            assert verdicts[label, updates] == "converges", out
    assert verdicts["GAN (minimax)", "simultaneous"] == "moves away", out
    assert verdicts["GAN (minimax)", "alternating"] == "circles", out
    assert verdicts["GAN (non-saturating)", "simultaneous"] == "circles", out   # on a cycle,
    assert runs["GAN (non-saturating)", "simultaneous"][1] < 0.5, out          # spiralled in
    assert verdicts["GAN (non-saturating)", "alternating"].startswith("creeps in"), out


def test_10_the_critics_estimate_tracks_exact_w1_and_the_gans_loss_does_not(tmp_path):
    """Over one run each (1000 iterations, width 32): the WGAN-GP critic's estimate on a fixed
    sample correlates with exact W1, the GAN's JS estimate does not (here it rises while W1
    falls, as in Arjovsky et al. 2017, Fig. 4). Measured over seeds 0-2: r = 0.85, 0.66, 0.63
    for WGAN-GP, -0.61, -0.52, -0.32 for the GAN."""
    pytest.importorskip("scipy")
    out = run_lesson("demos/10_meaningful_loss.py", tmp_path, "--iters", "1000", "--every",
                     "25", "--width", "32", "--batch", "128", "--n-est", "1024", "--n-w1", "300")
    r_gp = row(out, "WGAN-GP", 6)[4]
    r_gan = row(out, "GAN (non-saturating)", 6)[4]
    assert r_gp > 0.5, out
    assert r_gan < 0.2, out
    assert "over the 40 evaluations at iterations 25, 50, ..., 1000" in out


def test_11_both_gans_drop_ring_modes_on_average_every_wgan_keeps_them_all(tmp_path):
    """The README's words for the default run, over seeds 0-2 on the ring at 20 % of each
    method's schedule (the README's run: 30 %, both datasets): both GANs drop modes on average,
    and every WGAN finds all 8 in every seed. Measured (modes per seed): minimax 5, 4, 4;
    non-saturating 7, 6, 8; every WGAN 8, 8, 8 (at 30 %: 2, 6, 3 and 8, 7, 6). At 10 % it does not
    hold: the GANs have not collapsed yet (7.0 and 7.7 on average) and the clipped and spectrally
    normalised WGANs have not spread (5.7 and 4.7); 15 % holds too (4.7, 7.0, every WGAN 8/8) at
    70 s of CPU against 20 %'s 100 s, nearer that edge."""
    out = run_lesson("demos/11_mode_collapse.py", tmp_path, "--budget", "0.2", "--seeds", "3",
                     "--n-eval", "2500", "--datasets", "8gaussians")
    modes = {}
    for label, seed, found in re.findall(r"(?m)^8gaussians +(\S.*?) +seed (\d+) +\d+ iters +"
                                         r"modes +(\d+)/8 ", out):
        modes.setdefault(label, {})[int(seed)] = int(found)
    gans = ("GAN (minimax)", "GAN (non-saturating)")
    wgans = ("WGAN (clipping)", "WGAN-GP", "WGAN (spectral norm)")
    assert {label: sorted(seeds) for label, seeds in modes.items()} == \
        {label: [0, 1, 2] for label in gans + wgans}, out
    assert all(sum(modes[g].values()) / 3 < 8 for g in gans), modes
    assert all(found == 8 for w in wgans for found in modes[w].values()), modes


def test_12_the_movie_ends_on_the_data_and_the_estimate_stays_below_exact_w1(tmp_path):
    """1 500 iterations of the main job in 8 frames: exact W1 on the drawn points falls from the
    start to near the real-vs-real floor (measured 1.77 to 0.12; two real sets of 512 sit about
    0.1 apart) with every mode found, and the last frame's critic estimate is positive and below
    exact W1 (0.05 against 0.12), as Kantorovich-Rubinstein says of an about 1-Lipschitz critic."""
    pytest.importorskip("scipy")
    out = run_lesson("demos/12_training_movie.py", tmp_path, "--iters", "1500", "--frames", "8",
                     "--eval-n", "500")
    frames = [(int(t), float(est), float(w1)) for t, est, w1 in
              re.findall(r"(?m)^\s+(\d+)\s+%s\s+%s\s+%s s$" % (NUMBER, NUMBER, FLOAT), out)]
    assert [t for t, _, _ in frames][::7] == [0, 1500], out
    (_, _, w1_start), (_, est_end, w1_end) = frames[0], frames[-1]
    assert w1_end < 0.2 * w1_start and w1_end < 0.25, out
    assert 0 < est_end < w1_end, out
    assert re.search(r"final \(iteration 1500, n = 500\): 8/8 modes", out), out


def test_13_digits_every_number_from_one_n_and_the_critic_does_not_see_the_floor(tmp_path):
    """The curve's last evaluation is the figure's title (one n for all), and the critic gives
    two disjoint halves of the real digits almost no difference, where their exact W1 (the
    floor) is large: the floor is the finite sample's, not a difference of the laws."""
    pytest.importorskip("sklearn")
    pytest.importorskip("scipy")
    out = run_lesson("demos/13_digits.py", tmp_path)
    rows = [[float(x) for x in m] for m in re.findall(
        r"^\s*(\d+)\s+" + r"\s+".join([NUMBER] * 6) + r"\s*$", out, re.M)]
    assert len(rows) == 2, out                                # evaluations at 20 and 40
    it, _, _, critic_gen, critic_real, w1, floor = rows[-1]
    final = re.search(r"at iteration (\d+), n = (\d+): exact W1 generated vs real %s, real vs "
                      r"real \(floor\) %s" % (NUMBER, NUMBER), out)
    assert final, out
    assert (int(final.group(1)), int(final.group(2))) == (it, 200)          # the smoke eval_n
    assert (float(final.group(3)), float(final.group(4))) == (w1, floor)
    assert "generated %.4f, the other real half %.4f" % (critic_gen, critic_real) in out
    assert floor > 1 and abs(critic_real) < 0.05 * floor                   # 3.0 and 0.02
    assert abs(critic_real) < 0.2 * critic_gen


def test_15_groupsort_estimates_w1_best_and_every_critic_pushes_better_than_chance(tmp_path):
    """Against a fixed generator (d = 2 and 8, 300 points, 300 critic steps, width 64): every
    critic's estimate divided by its bound K stays below the exact W1 of the same samples
    (duality), GroupSort's comes closest (measured at the README's budget: 0.88, 0.75, 0.52 of
    exact W1 in d = 2, 8, 32; spectral norm 0.62, 0.54, 0.30), and every critic's gradient
    agrees with the exact transport direction better than chance (mean cosine > 0)."""
    pytest.importorskip("scipy")
    out = run_lesson("demos/15_what_the_critic_computes.py", tmp_path, "--dims", "2", "8",
                     "--n", "300", "--critic-steps", "300", "--width", "64")
    rows = {}
    for part, d, method, *numbers in re.findall(
            r"(?m)^(fixed G|WGAN run)\s+(\d+) (\S+)" + r"\s+%s" * 12 % ((NUMBER,) * 12), out):
        rows[part, int(d), method] = dict(zip("est K rescaled w1 noise ratio cos".split(),
                                              map(float, numbers)))
    assert len(rows) == 12, out
    for r in rows.values():
        assert r["rescaled"] <= r["w1"] * (1 + 1e-9), out
    for d in (2, 8):
        ratios = {m: rows["fixed G", d, m]["ratio"] for m in ("wgan", "wgan-gp", "wgan-sn",
                                                               "wgan-gs")}
        assert max(ratios, key=ratios.get) == "wgan-gs", ratios
        assert all(rows["fixed G", d, m]["cos"] > 0 for m in ratios), out


def test_gpu_speed_ratio_is_its_printed_ms_over_its_floor(tmp_path):
    """Every row of the benchmark's table: ratio = ms / floor (to the printed digits), and
    inside the range of its repeats' ratios."""
    out = run_lesson("benchmarks/gpu_speed.py", tmp_path, "--repeats", "3", "--threads", "1")
    rows = re.findall(r"^cpu .*? (fast|plain)\s+%s\s+%s\s+%s\s+%s-%s" % ((NUMBER,) * 5), out,
                      re.M)
    assert len(rows) == 4, out
    for path, ms, floor, ratio, low, high in rows:
        ms, floor, ratio, low, high = map(float, (ms, floor, ratio, low, high))
        assert abs(ratio - ms / floor) <= 1.1e-3 * ms / floor + 5e-4, (ms, floor, ratio)
        assert low <= ratio <= high


# ---- lessons 7 and 8: run at the default budget with flags that shrink them ----------------
def run_at_default(demo, cwd, *flags):
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
            for v in re.findall(r"%s%%?|(?<=\s)-(?=\s|$)" % FLOAT, line[len(label):])]


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
    out = run_at_default("07_clipping_vs_penalty.py", tmp_path, "--clips", "0.1", "0.01",
                     "--methods", "wgan-gp", "--iters", "100", "--batch", "64",
                     "--lr-rmsprop", "5e-4", "--measure-batches", "2", "--eval-n", "100")
    lines = out.splitlines()
    norms = {}                                     # layer l -> [c = 0.1, c = 0.01, GP]
    for line in lines:
        m = re.match(r"(\d+)(?: \(= x\))?((?:\s+%s){3})$" % FLOAT, line)
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
      spectral norm's (it is the one that bends around the modes). On 25gaussians the ratio to
      the clipped critic's is the smaller one: 1.76 at 400 steps and 1.73 at 600 (0.223 against
      0.127, 0.218 against 0.126; 8gaussians: 2.04, 2.72; NumPy 2.4.6, OpenBLAS SkylakeX, on
      main 7e941ec), 1.58 in the README's 3000-step grid run. (An earlier code state gave 1.496
      at 400 steps and the margin was lowered to 1.4 for it; today's code is back above 1.5.)
    - the exact optimum peaks on the modes (contrast above 0.6, above twice the penalised
      critic's) and captures more than 90 % of W1 on held-out points.
    """
    out = run_at_default("08_critic_surfaces.py", tmp_path, "--datasets", "8gaussians",
                     "25gaussians", "--steps", "400", "--grid", "32", "--n-eval", "300",
                     "--n-optimal", "300")
    table = {}                                     # (dataset, critic) -> its row's numbers
    for line in out.splitlines():
        m = re.match(r"(8gaussians|25gaussians) +(weight clipping|gradient penalty|spectral norm|"
                     r"optimal \(exact\))((?: +%s){6})$" % FLOAT, line)
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
