"""Each lesson's claim, held at a budget CI can afford: the demo runs with its own flags at a
smaller but still meaningful configuration, and the test asserts the number that carries the
lesson, not only that it ran. (Each test is named after its lesson's number.)"""
import os
import re

import pytest

from test_demos import ROOT, run_smoke

NUMBER = r"([-+]?\d+(?:\.\d*)?(?:e[-+]?\d+)?)"


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
