"""The metrics against closed forms, brute force and each other.

- EMD: Weng's example (W = 5, deltas 2, 2, -1, 0) and N * W1 of the piles as samples;
- w1_1d: a shift by c costs |c| exactly; unequal sizes agree with equal sizes;
- w1_exact: brute force over permutations, 1-D data embedded in 2-D (= w1_1d), the parallel
  lines (= |theta|), metric axioms;
- w1_critic: its estimate is w1_exact's W1, and it is 1-Lipschitz;
- KL/JS: 0 for equal histograms, log 2 for disjoint ones, KL = inf where q has no mass;
- mode coverage: exact centres, far points, the 3-std boundary, perfect samples (98.9 %);
- w1_floor: deterministic, in the range measured over seeds, shrinking with n.
"""
import itertools
import math
import sys

import numpy as np
import pytest
from hypothesis import given, strategies as st

from tinywgan import backend
from tinywgan.measure import data, metrics

seeds = st.integers(0, 2 ** 16)


def _cloud(seed, n, d=2):
    return np.random.default_rng(seed).standard_normal((n, d))


# ---- discrete EMD -------------------------------------------------------------------------------
def test_emd_worked_example():
    W, deltas = metrics.emd_discrete([3, 2, 1, 4], [1, 2, 4, 3])
    assert W == 5 and deltas == [2, 2, -1, 0]
    W, deltas = metrics.emd_discrete([1, 2, 4, 3], [3, 2, 1, 4])      # reversed roles
    assert W == 5 and deltas == [-2, -2, 1, 0]


@given(st.lists(st.integers(0, 6), min_size=1, max_size=8), seeds)
def test_emd_equals_total_times_w1_of_the_piles_as_samples(p, seed):
    """Pile i of height p_i = p_i samples at position i; W = total mass * W1 of the samples."""
    p = np.array(p)
    if p.sum() == 0:
        p[0] = 1
    q = np.random.default_rng(seed).multinomial(p.sum(), np.ones(p.size) / p.size)
    W, deltas = metrics.emd_discrete(p, q)
    pos = np.arange(p.size)
    assert W == pytest.approx(p.sum() * metrics.w1_1d(np.repeat(pos, p), np.repeat(pos, q)),
                              abs=1e-9)
    assert len(deltas) == p.size and deltas[-1] == pytest.approx(0, abs=1e-12)


def test_emd_bad_input():
    with pytest.raises(ValueError, match="p and q must be non-empty 1-D piles of the same length"):
        metrics.emd_discrete([1, 2], [1, 1, 1])
    with pytest.raises(ValueError, match="equal totals.*sum\\(p\\) = 3.*sum\\(q\\) = 4"):
        metrics.emd_discrete([1, 2], [2, 2])
    with pytest.raises(ValueError, match="non-negative"):
        metrics.emd_discrete([-1, 2], [0, 1])


# ---- 1-D W1 ----------------------------------------------------------------------------------
@given(seeds, st.integers(1, 60), st.floats(-5, 5))
def test_w1_1d_shift_costs_exactly_c(seed, n, c):
    x = np.random.default_rng(seed).random(n)                       # U[0, 1]
    assert metrics.w1_1d(x, x + c) == pytest.approx(abs(c), abs=1e-12)
    assert metrics.w1_1d(x[:, None], (x + c)[:, None]) == pytest.approx(abs(c), abs=1e-12)


def test_w1_1d_independent_uniforms():
    """U[0, 1] against U[a, a + 1] from independent draws: W1 = |a| up to sampling error."""
    r = np.random.default_rng(0)
    for a in (0.0, 0.25, -1.5):
        w = metrics.w1_1d(r.random(20000), a + r.random(20000))
        assert w == pytest.approx(abs(a), abs=0.02)


@given(seeds, st.integers(1, 30), st.integers(1, 4))
def test_w1_1d_unequal_sizes_agree_with_equal_sizes(seed, n, k):
    """Repeating y k times leaves its empirical distribution unchanged, so W1 must not move."""
    r = np.random.default_rng(seed)
    x, y = r.standard_normal(n), r.standard_normal(n) + 0.5
    y_rep = np.tile(y, k + 1)                               # size (k + 1) n != n
    assert metrics.w1_1d(x, y_rep) == pytest.approx(metrics.w1_1d(x, y), abs=1e-12)
    assert metrics.w1_1d(y_rep, x) == pytest.approx(metrics.w1_1d(x, y), abs=1e-12)


def test_w1_1d_unequal_closed_form():
    """{0} against {0, 1}: half the mass moves by 1, W1 = 1/2."""
    assert metrics.w1_1d([0.0], [0.0, 1.0]) == pytest.approx(0.5)
    assert metrics.w1_1d([0.0, 0.0, 3.0], [0.0]) == pytest.approx(1.0)


def test_w1_1d_bad_shape():
    with pytest.raises(ValueError, match="x must be a non-empty 1-D sample"):
        metrics.w1_1d(np.zeros((4, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="y must be a non-empty 1-D sample"):
        metrics.w1_1d(np.zeros(4), np.zeros(0))


# ---- exact W1 --------------------------------------------------------------------------------
@given(seeds, st.integers(1, 5), st.integers(1, 3))
def test_w1_exact_equals_brute_force(seed, n, d):
    x, y = _cloud(seed, n, d), _cloud(seed + 1, n, d) + 0.3
    brute = min(np.mean([np.linalg.norm(x[i] - y[s[i]]) for i in range(n)])
                for s in itertools.permutations(range(n)))
    assert metrics.w1_exact(x, y) == pytest.approx(brute, rel=1e-12, abs=1e-12)


@given(seeds, st.integers(1, 25), st.floats(0, 2 * np.pi))
def test_w1_exact_equals_w1_1d_on_a_line_in_2d(seed, n, angle):
    r = np.random.default_rng(seed)
    x, y = r.standard_normal(n), 2 * r.random(n) - 0.4
    u = np.array([np.cos(angle), np.sin(angle)])                    # the line's direction
    assert metrics.w1_exact(x[:, None] * u, y[:, None] * u) == \
        pytest.approx(metrics.w1_1d(x, y), rel=1e-9, abs=1e-12)


@given(seeds, st.floats(-3, 3))
def test_parallel_lines_w1_is_abs_theta(seed, theta):
    """P_0 and P_theta drawn from the same stream share Z, so W1 = |theta| exactly."""
    p0 = data.parallel_lines(40, 0.0, backend.rng(np, seed, "lines"), np.float64)
    pt = data.parallel_lines(40, theta, backend.rng(np, seed, "lines"), np.float64)
    assert metrics.w1_exact(p0, pt) == pytest.approx(abs(theta), rel=1e-12, abs=1e-12)


@given(seeds, st.integers(1, 20))
def test_w1_exact_is_a_metric(seed, n):
    x, y, z = _cloud(seed, n), _cloud(seed + 1, n) * 2, _cloud(seed + 2, n) + 1
    w_xy, w_yx = metrics.w1_exact(x, y), metrics.w1_exact(y, x)
    assert w_xy >= 0 and w_xy == pytest.approx(w_yx, rel=1e-12)
    assert metrics.w1_exact(x, x) == 0
    assert metrics.w1_exact(x, x[::-1]) == pytest.approx(0, abs=1e-15)   # order is irrelevant
    assert metrics.w1_exact(x, z) <= w_xy + metrics.w1_exact(y, z) + 1e-12


def test_w1_exact_on_the_strict_device():
    xp = backend.array_module("strict")
    a = data.eight_gaussians(50, backend.rng(xp, 0), np.float64)
    b = data.eight_gaussians(50, backend.rng(xp, 1), np.float64)
    assert metrics.w1_exact(a, b) == pytest.approx(
        metrics.w1_exact(backend.to_numpy(a), backend.to_numpy(b)), rel=1e-12)


@given(seeds, st.integers(0, 5), st.sampled_from([None, 1, 2, 8]))
def test_w1_exact_pairs_is_the_loop_to_the_bit(seed, k, workers):
    """Side by side on threads or one after another, each pair's W1 is the one computed alone,
    in the pairs' order; a pair the solver refuses raises its own message."""
    pairs = [(_cloud(seed + i, 30 + i), 2 * _cloud(seed + 50 + i, 30 + i)) for i in range(k)]
    assert metrics.w1_exact_pairs(pairs, workers) == [metrics.w1_exact(x, y) for x, y in pairs]
    with pytest.raises(ValueError, match="x with 5 points and y with 6 points"):
        metrics.w1_exact_pairs(pairs + [(np.zeros((5, 2)), np.zeros((6, 2)))], workers)


def test_w1_exact_bad_input(monkeypatch):
    with pytest.raises(ValueError, match="x with 5 points and y with 6 points"):
        metrics.w1_exact(np.zeros((5, 2)), np.zeros((6, 2)))
    with pytest.raises(ValueError, match="same dimension"):
        metrics.w1_exact(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="x must be a non-empty point set"):
        metrics.w1_exact(np.zeros((0, 2)), np.zeros((0, 2)))
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)
    with pytest.raises(ImportError, match="pip install scipy"):
        metrics.w1_exact(np.zeros((5, 2)), np.zeros((5, 2)))


@given(seeds, st.integers(1, 40), st.integers(1, 3), st.floats(0, 3))
def test_w1_critic_is_an_optimal_1_lipschitz_critic(seed, n, d, shift):
    """Its W estimate on the two sets is their exact W1, its heights are its values on the real
    points, and it is 1-Lipschitz (checked on random pairs anywhere)."""
    from scipy.spatial.distance import cdist
    real, fake = _cloud(seed, n, d), 2 * _cloud(seed + 1, n, d) + shift
    w1, heights = metrics.w1_critic(real, fake)

    def f(x):
        return np.max(heights - cdist(x, real), axis=1)

    assert w1 == pytest.approx(metrics.w1_exact(real, fake), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(f(real), heights, rtol=0, atol=1e-9)
    assert f(real).mean() - f(fake).mean() == pytest.approx(w1, rel=1e-9, abs=1e-9)
    a, b = 3 * _cloud(seed + 2, 50, d), 3 * _cloud(seed + 3, 50, d)
    assert np.all(np.abs(f(a) - f(b)) <= np.linalg.norm(a - b, axis=1) + 1e-12)


def test_w1_critic_bad_input(monkeypatch):
    with pytest.raises(ValueError, match=r"x_real: \(5, 2\), x_fake: \(6, 2\)"):
        metrics.w1_critic(np.zeros((5, 2)), np.zeros((6, 2)))
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)
    with pytest.raises(ImportError, match="pip install scipy"):
        metrics.w1_critic(np.zeros((5, 2)), np.zeros((5, 2)))


# ---- KL and JS -------------------------------------------------------------------------------
def test_kl_js_closed_forms():
    assert metrics.kl_divergence([1, 1], [1, 3]) == pytest.approx(
        0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75))    # normalised first
    assert metrics.kl_divergence([2, 5, 3], [4, 10, 6]) == 0
    assert metrics.js_divergence([2, 5, 3], [4, 10, 6]) == 0
    assert metrics.js_divergence([1, 2, 0, 0], [0, 0, 5, 1]) == pytest.approx(math.log(2))
    assert metrics.kl_divergence([1, 1, 0], [1, 0, 1]) == math.inf   # p has mass where q has none
    assert metrics.kl_divergence([1, 0, 0], [1, 1, 1]) == pytest.approx(math.log(3))  # 0 log 0 = 0


def test_js_partial_overlap_closed_form():
    """p = (1, 0), q = (1/2, 1/2): m = (3/4, 1/4), JS = (log(4/3) + (log(2/3) + log 2) / 2) / 2."""
    want = (math.log(4 / 3) + 0.5 * (math.log(2 / 3) + math.log(2))) / 2
    assert metrics.js_divergence([1, 0], [1, 1]) == pytest.approx(want, rel=1e-12)


@given(seeds, st.one_of(st.floats(0.01, 3), st.floats(-3, -0.01)))
def test_parallel_lines_kl_js(seed, theta):
    """The parallel lines on a histogram that tells them apart: JS = log 2, KL = inf;
    at theta = 0 both are 0 (the samples share Z, so the histograms are equal)."""
    def hist(theta_):
        x = backend.to_numpy(data.parallel_lines(200, theta_, backend.rng(np, seed), np.float64))
        edges = (sorted([-4.0, theta / 2, 4.0]), np.linspace(0, 1, 11))
        return np.histogram2d(x[:, 0], x[:, 1], bins=edges)[0]
    p0, pt = hist(0.0), hist(theta)
    assert metrics.js_divergence(p0, pt) == pytest.approx(math.log(2), rel=1e-12)
    assert metrics.kl_divergence(p0, pt) == math.inf
    assert metrics.js_divergence(p0, hist(0.0)) == 0 and metrics.kl_divergence(p0, p0) == 0


@given(st.lists(st.integers(0, 9), min_size=2, max_size=8), seeds)
def test_js_bounds_and_symmetry(p, seed):
    p = np.array(p, dtype=float)
    p[0] += 1
    q = np.random.default_rng(seed).integers(0, 5, size=p.size).astype(float)
    q[-1] += 1
    js = metrics.js_divergence(p, q)
    assert -1e-15 <= js <= math.log(2) + 1e-12
    assert js == pytest.approx(metrics.js_divergence(q, p), abs=1e-15)
    assert metrics.kl_divergence(p, q) >= -1e-12


def test_kl_bad_input():
    with pytest.raises(ValueError, match="q must be a histogram"):
        metrics.kl_divergence([1, 2], [-1, 2])
    with pytest.raises(ValueError, match="p must be a histogram"):
        metrics.js_divergence([0, 0], [1, 2])
    with pytest.raises(ValueError, match="same number of bins, got 2 and 3"):
        metrics.kl_divergence([1, 2], [1, 2, 3])


# ---- mode coverage ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["8gaussians", "25gaussians"])
def test_mode_coverage_extremes(name):
    c, s = data.centres(name), data.mode_std(name)
    assert metrics.mode_coverage(c, c, s) == {"modes": len(c), "modes_total": len(c),
                                              "high_quality": 1.0}
    assert metrics.mode_coverage(c + 100, c, s) == {"modes": 0, "modes_total": len(c),
                                                    "high_quality": 0.0}
    three = np.repeat(c[:3], 4, axis=0)                             # samples on 3 modes only
    assert metrics.mode_coverage(three, c, s)["modes"] == 3


def test_mode_coverage_three_std_boundary():
    c, s = np.array([[0.0, 0.0], [10.0, 0.0]]), 0.5
    inside, outside = np.array([[2.9 * s, 0.0]]), np.array([[10 + 3.1 * s, 0.0]])
    assert metrics.mode_coverage(inside, c, s) == {"modes": 1, "modes_total": 2,
                                                   "high_quality": 1.0}
    # a low-quality sample near mode 2 does not capture it
    assert metrics.mode_coverage(np.vstack([inside, outside]), c, s)["modes"] == 1
    assert metrics.mode_coverage(outside, c, s, n_std=4.0)["modes"] == 1


@pytest.mark.parametrize("name", ["8gaussians", "25gaussians"])
def test_mode_coverage_of_real_samples(device, name):
    """Real samples capture every mode and score P(chi^2_2 <= 9) = 1 - exp(-4.5) high quality."""
    xp = backend.array_module(device)
    x = data.sample(name, 20000, backend.rng(xp, 7), np.float64)    # a device array goes in
    r = metrics.mode_coverage(x, data.centres(name), data.mode_std(name))
    assert r["modes"] == r["modes_total"]
    p = 1 - math.exp(-4.5)
    assert r["high_quality"] == pytest.approx(p, abs=5 * math.sqrt(p * (1 - p) / 20000))


def test_mode_coverage_bad_input():
    c = data.centres("8gaussians")
    for bad in (0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="std must be a finite number > 0"):
            metrics.mode_coverage(c, c, bad)
    with pytest.raises(ValueError, match="n_std must be a finite number > 0"):
        metrics.mode_coverage(c, c, 0.1, n_std=0)
    with pytest.raises(ValueError, match="same dimension"):
        metrics.mode_coverage(np.zeros((3, 3)), c, 0.1)


# ---- the real-vs-real floor ------------------------------------------------------------------
def test_w1_floor_at_2500():
    """Seeds 0..19 gave 0.034..0.073 (mean 0.050) for 8gaussians."""
    w = metrics.w1_floor("8gaussians", 2500, seed=0)
    assert 0.03 < w < 0.08
    a = data.sample("8gaussians", 2500, backend.rng(np, 0, "w1_floor", "8gaussians", 0),
                    np.float64)
    b = data.sample("8gaussians", 2500, backend.rng(np, 0, "w1_floor", "8gaussians", 1),
                    np.float64)
    assert w == metrics.w1_exact(a, b)                               # the documented streams


def test_w1_floor_shrinks_with_n():
    """The floor falls like n^(-1/2): 10 times the points, about 1/3.2 of the floor."""
    small = np.mean([metrics.w1_floor("25gaussians", 100, s) for s in range(4)])
    large = np.mean([metrics.w1_floor("25gaussians", 1000, s) for s in range(4)])
    assert 1.8 < small / large < 6, (small, large)


def test_distances_too_large_for_the_assignment_solver_are_refused_by_name():
    """Coordinates beyond float64's square root (1.34e154) make a distance overflow (the root of
    an inf square), where SciPy's solver says only "cost matrix is infeasible" (hypothesis found
    it); the message names both point sets."""
    far = np.array([[1e155]])
    with pytest.raises(ValueError, match=r"^x and y: .*overflows float64"):
        metrics.w1_exact(np.zeros((1, 1)), far)
    with pytest.raises(ValueError, match=r"^x_real and x_fake: .*overflows float64"):
        metrics.w1_critic(np.zeros((1, 1)), far)
