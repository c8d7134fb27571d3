r"""Distances between distributions and mode counts: how good is a generator on the toys?

- ``w1_exact``: the Wasserstein-1 (earth mover's) distance between two equal-size point sets is
  an assignment problem, W1 = min_sigma (1/N) sum_i ||x_i - y_sigma(i)|| (Villani 2009; solved by
  ``scipy.optimize.linear_sum_assignment``, Crouse 2016).
  ``w1_exact_pairs`` solves several at once, one per core.
- ``w1_critic``: an optimal critic for that W1, a max of unit-slope cones on the real points,
  its heights from the optimal assignment by shortest paths (Villani 2009, cyclical monotonicity).
- ``w1_1d``: in one dimension W1 = int |F_x(t) - F_y(t)| dt, which for equal sizes is the mean
  gap between the sorted samples (Vallender 1974).
- ``emd_discrete``: the pile-by-pile recursion delta_{i+1} = delta_i + p_i - q_i of Weng's
  "From GAN to WGAN" (2017) and Berkeley's EECS 182 WGAN homework (Fall 2022).
- ``kl_divergence``, ``js_divergence``: of histograms, natural log (Arjovsky et al. 2017, Sec. 2).
- ``mode_coverage``: the VEEGAN rule (Srivastava et al. 2017): a sample is high quality within
  3 std of its nearest mode centre; a mode is captured if some high-quality sample is nearest it.
  ``mode_counts`` gives the high-quality samples per mode, ``mode_reverse_kl`` PacGAN's reverse
  KL of their spread over the modes (Lin et al. 2018).
- ``w1_floor``: W1 between two independent *real* samples, the finite-sample noise floor that a
  generator's W1 should be compared with (about 0.05 / 0.065 at n = 2500, measured below).

All functions are host-side diagnostics: they accept device or host arrays, bring them back
explicitly (``validate.host_array``), compute in float64 and return Python numbers.
"""
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import data
from ..backend import rng
from ..threads import usable_cores
from ..validate import choice, host_array, number


def _points(x, name):
    """Host float64 (N, d) from a device/host (N, d) array; (N,) is read as N points in 1-D."""
    x = host_array(name, x)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.size == 0:
        raise ValueError("%s must be a non-empty point set of shape (N, d), got shape %s"
                         % (name, x.shape))
    return x


def _assignment(where, x, y, names):
    """C_ij = ||x_i - y_j||_2: (N, N) and the optimal permutation (rows, cols) of the assignment
    problem min sum_i C_{i, cols[i]}. Distances too large for the solver (coordinates near
    float64's square root, 1e154, where it says only "cost matrix is infeasible") are refused
    naming both point sets."""
    try:
        from scipy.optimize import linear_sum_assignment
        from scipy.spatial.distance import cdist
    except ImportError as err:
        raise ImportError("%s needs SciPy's assignment solver: pip install scipy "
                          "(or pip install 'tinywgan[metrics]')" % where) from err
    cost = cdist(x, y)
    try:
        if not np.isfinite(cost).all():
            raise ValueError("a distance overflows float64")
        return (cost,) + linear_sum_assignment(cost)
    except ValueError as e:
        raise ValueError("%s and %s: SciPy's assignment solver cannot take their distances (%s; "
                         "coordinates up to %.3g): rescale both point sets"
                         % (names + (e, max(abs(x).max(), abs(y).max())))) from None


def w1_exact(x, y):
    r"""Exact W1 between the empirical measures of two equal-size point sets.

        W1 = min over permutations sigma of (1/N) sum_i ||x_i - y_sigma(i)||_2

    (for uniform weights on N points each, an optimal plan is a permutation: Birkhoff).
    Inputs: x: (N, d), y: (N, d), device or host. Cost O(N^3): N = 2500 takes about a second.
    Returns: W1 as a float.
    """
    x, y = _points(x, "x"), _points(y, "y")
    if x.shape[0] != y.shape[0]:
        raise ValueError("w1_exact needs equal-size point sets, got x with %d points and y with "
                         "%d points; subsample the larger one" % (x.shape[0], y.shape[0]))
    if x.shape[1] != y.shape[1]:
        raise ValueError("x and y must have the same dimension d, got x: %s, y: %s"
                         % (x.shape, y.shape))
    cost, rows, cols = _assignment("w1_exact", x, y, ("x", "y"))   # C_ij = ||x_i - y_j||, sigma
    return float(cost[rows, cols].mean())                   # (1/N) sum_i C_{i, sigma(i)}


def w1_exact_pairs(pairs, workers=None):
    """``[w1_exact(x, y) for x, y in pairs]``, the assignments side by side on ``workers``
    threads (default: one per core this process may use, at most one per pair).

    SciPy's solver releases the GIL (SciPy 1.12 and later), so threads run the assignments on
    different cores at once: the main job's final evaluation (four at N = 2500, 1.5 s each on a
    2-core Xeon) takes the time of two. Each W1 is the one computed alone, to the bit; with an
    older SciPy the threads take turns, no slower than a loop."""
    pairs = list(pairs)
    workers = min(len(pairs), usable_cores() if workers is None else workers)
    if workers <= 1:
        return [w1_exact(x, y) for x, y in pairs]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda pair: w1_exact(*pair), pairs))


def w1_critic(x_real, x_fake):
    r"""An optimal critic for the exact W1 between two equal-size point sets: the 1-Lipschitz f
    with mean f(x_real) - mean f(x_fake) = W1 (``w1_exact``), the optimum every WGAN critic
    approximates (Kantorovich-Rubinstein duality), as a max of unit-slope cones on the real
    points:

        f(x) = max_i (u_i - ||x - x_real_i||)          (1-Lipschitz: each cone is)

    The heights u come from the optimal permutation sigma (real i -> fake sigma(i)). f is optimal
    when every pair is on a cone of full slope, f(x_fake_sigma(i)) = u_i - C_{i,sigma(i)}, i.e.
    u_j - C_{j,sigma(i)} <= u_i - C_{i,sigma(i)} for all i, j:

        u_j <= u_i + w_ij,   w_ij = C_{j,sigma(i)} - C_{i,sigma(i)}

    shortest-path constraints, solved by Bellman-Ford from u = 0 (sweeps u_j <- min_i (u_i +
    w_ij) until nothing changes; an optimal sigma leaves no negative cycle: cyclical
    monotonicity). Then f(x_fake_sigma(i)) = u_i - C_{i,sigma(i)} and f(x_real_i) >= u_i, so
    mean f(x_real) - mean f(x_fake) >= (1/N) sum_i C_{i,sigma(i)} = W1; a 1-Lipschitz f can
    reach no more than W1 (duality), so it is W1, and f(x_real_i) = u_i exactly.

    Inputs: x_real: (N, d), x_fake: (N, d), device or host. Cost O(N^3) at worst (the
    assignment; the sweeps are O(N^2) each, a few dozen in practice).
    Returns (w1: float, u: (N,) float64 host, f(x_real) = u): evaluate f elsewhere as
    ``np.max(u - cdist(x, x_real), axis=1)``.
    """
    x_real, x_fake = _points(x_real, "x_real"), _points(x_fake, "x_fake")
    if x_real.shape != x_fake.shape:
        raise ValueError("w1_critic needs two point sets of one shape (N, d), got x_real: %s, "
                         "x_fake: %s" % (x_real.shape, x_fake.shape))
    cost, rows, sigma = _assignment("w1_critic", x_real, x_fake, ("x_real", "x_fake"))
    matched = cost[rows, sigma]                             # (N,) C_{i, sigma(i)}
    w = cost[:, sigma].T - matched[:, None]                 # (N, N) w_ij = C_{j,s(i)} - C_{i,s(i)}
    # Stop when no height falls by more than rounding: a rounding-size negative cycle must not
    # keep the sweeps going to the N-th.
    u, tol = np.zeros(len(rows)), 1e-12 * max(float(cost.max()), 1e-300)
    for _ in range(len(rows)):                              # N - 1 sweeps at most are needed
        new = np.minimum(u, (u[:, None] + w).min(axis=0))   # u_j <- min(u_j, min_i u_i + w_ij)
        done = not (new < u - tol).any()
        u = new
        if done:
            break
    return float(matched.mean()), u


def _samples_1d(x, name):
    x = host_array(name, x)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 1 or x.shape[0] == 0:
        raise ValueError("%s must be a non-empty 1-D sample of shape (N,) or (N, 1), got shape %s"
                         % (name, x.shape))
    return x


def w1_1d(x, y):
    r"""W1 between two 1-D samples by sorting.

        W1 = int |F_x(t) - F_y(t)| dt                    (F the empirical CDFs)
           = (1/N) sum_i |x_(i) - y_(i)|                 (equal sizes: sorted samples matched)

    Unequal sizes: the integral, exactly, over the merged sorted support t_0 <= ... <= t_M,
    where both CDFs are constant on each [t_k, t_{k+1}).
    Inputs: x: (N,) or (N, 1); y: (M,) or (M, 1); device or host. Returns: W1 as a float.
    """
    x, y = np.sort(_samples_1d(x, "x")), np.sort(_samples_1d(y, "y"))
    if x.shape[0] == y.shape[0]:
        return float(np.abs(x - y).mean())
    t = np.sort(np.concatenate([x, y]))                     # (N + M,) merged support
    F_x = np.searchsorted(x, t[:-1], side="right") / x.shape[0]     # F_x on [t_k, t_{k+1})
    F_y = np.searchsorted(y, t[:-1], side="right") / y.shape[0]
    return float(np.sum(np.abs(F_x - F_y) * np.diff(t)))   # sum_k |F_x - F_y| (t_{k+1} - t_k)


def emd_discrete(p, q):
    r"""Earth mover's distance between two piles of dirt on unit-spaced positions 0, 1, ...

        delta_0 = 0,   delta_{i+1} = delta_i + p_i - q_i,   W = sum_{i=1}^{n} |delta_i|

    delta_{i+1} is the surplus carried from pile i to pile i+1 (negative: carried back), each
    unit over distance 1. The returned ``deltas`` are delta_1 .. delta_n, one per pile, the
    running surplus *after* that pile; delta_0 = 0 is not listed and delta_n = 0 (equal totals),
    so W = sum |deltas| equals the sources' sum. Their example: p = (3, 2, 1, 4), q = (1, 2, 4, 3)
    gives deltas (2, 2, -1, 0) and W = 2 + 2 + 1 + 0 = 5.
    Inputs: p: (n,), q: (n,), non-negative, equal totals. Returns: (W: float, deltas: list).
    """
    p, q = host_array("p", p), host_array("q", q)
    if p.ndim != 1 or q.ndim != 1 or p.shape != q.shape or p.size == 0:
        raise ValueError("p and q must be non-empty 1-D piles of the same length, got shapes "
                         "%s and %s" % (p.shape, q.shape))
    if (p < 0).any() or (q < 0).any():
        raise ValueError("p and q must be non-negative (amounts of dirt)")
    if not math.isclose(p.sum(), q.sum(), rel_tol=1e-9, abs_tol=1e-12):
        raise ValueError("p and q must have equal totals (dirt is moved, not created), got "
                         "sum(p) = %g, sum(q) = %g" % (p.sum(), q.sum()))
    deltas = np.cumsum(p - q)                               # delta_{i+1} = delta_i + p_i - q_i
    return float(np.abs(deltas).sum()), [float(d) for d in deltas]


def _histogram(p, name):
    p = host_array(name, p).ravel()
    if p.size == 0 or (p < 0).any() or p.sum() <= 0:
        raise ValueError("%s must be a histogram: finite, non-negative counts with a positive "
                         "total, got %r" % (name, p))
    return p / p.sum()                                      # normalise: sum p = 1


def _histograms(p, q):
    p, q = _histogram(p, "p"), _histogram(q, "q")
    if p.shape != q.shape:
        raise ValueError("p and q must have the same number of bins, got %d and %d"
                         % (p.size, q.size))
    return p, q


def kl_divergence(p, q):
    r"""KL(p || q) = sum_i p_i log(p_i / q_i) of two histograms (normalised first), natural log.

    0 log(0 / q) = 0; +inf if some p_i > 0 where q_i = 0 (p puts mass where q has none).
    Inputs: p: (B,), q: (B,) counts or probabilities (any shape, same size). Returns: float.
    """
    p, q = _histograms(p, q)
    support = p > 0                                         # terms with p_i = 0 are 0
    if (q[support] == 0).any():
        return math.inf
    return float(np.sum(p[support] * np.log(p[support] / q[support])))


def js_divergence(p, q):
    r"""JS(p, q) = (KL(p || m) + KL(q || m)) / 2 with m = (p + q) / 2; natural log.

    Always finite: 0 <= JS <= log 2, with log 2 exactly when p and q have disjoint supports.
    Inputs: p: (B,), q: (B,). Returns: float.
    """
    p, q = _histograms(p, q)
    m = (p + q) / 2                                         # m_i > 0 wherever p_i or q_i > 0
    return (kl_divergence(p, m) + kl_divergence(q, m)) / 2


def mode_counts(samples, centres, std, n_std=3.0):
    r"""High-quality samples per mode (VEEGAN's rule, as ``mode_coverage``).

    nearest_i = argmin_k ||x_i - c_k||; x_i is high quality iff ||x_i - c_nearest_i|| <= n_std std;
    counts_k = #{i high quality, nearest_i = k}.
    Inputs: samples: (N, d), device or host; centres: (K, d); std: per-coordinate mode std > 0;
    n_std: > 0. Returns: counts: (K,) int64 host array (its sum / N is the high-quality fraction).
    """
    x, c = _points(samples, "samples"), _points(centres, "centres")
    if x.shape[1] != c.shape[1]:
        raise ValueError("samples and centres must have the same dimension, got %s and %s"
                         % (x.shape, c.shape))
    std = number("std", std, low=0, low_open=True)
    n_std = number("n_std", n_std, low=0, low_open=True)
    d = np.sqrt(((x[:, None, :] - c[None, :, :]) ** 2).sum(axis=2))   # (N, K) distances
    nearest = d.argmin(axis=1)                                          # (N,)
    good = d[np.arange(x.shape[0]), nearest] <= n_std * std             # (N,) high quality
    return np.bincount(nearest[good], minlength=c.shape[0])             # (K,)


def mode_coverage(samples, centres, std, n_std=3.0):
    r"""Modes captured and fraction of high-quality samples (VEEGAN, Srivastava et al. 2017).

    With ``mode_counts``' counts_k: mode k is captured iff counts_k > 0, and the high-quality
    fraction is sum_k counts_k / N. Perfect 2-D samples score P(chi^2_2 <= 9) = 1 - exp(-4.5) =
    98.9 % high quality.
    Inputs: as ``mode_counts``. Returns: {"modes": int, "modes_total": K, "high_quality": float}.
    """
    counts = mode_counts(samples, centres, std, n_std)                  # (K,)
    n = _points(samples, "samples").shape[0]
    return {"modes": int((counts > 0).sum()), "modes_total": int(counts.size),
            "high_quality": float(counts.sum() / n)}


def mode_reverse_kl(counts):
    r"""Reverse KL of the modes, as PacGAN (Lin et al. 2018) reports it: the high-quality samples'
    spread over the K modes against the data's uniform one, model first, natural log:

        p_k = counts_k / sum counts,   KL(p || 1/K) = sum_k p_k log(K p_k) = log K - H(p)

    (0 log 0 = 0). PacGAN's released evaluation code counts, per mode, the generated samples
    within 3 std of their nearest centre and records the natural-log entropy H(p) of that
    histogram; log K - H(p) is this KL. 0 for an even spread over every mode; log(K/m) for an
    even spread over m of them.
    Inputs: counts: (K,) non-negative, from ``mode_counts``. Returns: a float, or None when
    there are no high-quality samples at all (p undefined).
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 1 or counts.size == 0 or (counts < 0).any():
        raise ValueError("counts must be a non-empty 1-D array of non-negative counts, got %r"
                         % (counts,))
    if counts.sum() == 0:
        return None
    p = counts[counts > 0] / counts.sum()
    return float(np.sum(p * np.log(counts.size * p)))


def w1_floor(name, n=2500, seed=0):
    """Exact W1 between two independent real samples of size n of toy dataset ``name``.

    The empirical W1 of two samples of the *same* distribution is not 0; a generator cannot be
    judged below this floor at the same n. Samples are float64, drawn on the host from
    rng(numpy, seed, "w1_floor", name, 0) and (..., 1). Returns: float.

    Most of the floor is the multinomial imbalance of the mode counts (about sqrt(n/K) points
    per mode) carried between neighbouring modes, so it shrinks like n^(-1/2) and varies a lot
    from seed to seed. Measured over seeds 0..19 at n = 2500 (mean +- standard error, sd):
    8gaussians 0.050 +- 0.003 (sd 0.013), 25gaussians 0.065 +- 0.003 (sd 0.014).
    Compare a generator with the floor of the same n, averaged over the same seeds.
    """
    choice("w1_floor: name", name, tuple(data.TOY_DATASETS))
    a = data.sample(name, n, rng(np, seed, "w1_floor", name, 0), np.float64)   # (n, 2)
    b = data.sample(name, n, rng(np, seed, "w1_floor", name, 1), np.float64)   # (n, 2)
    return w1_exact(a, b)
