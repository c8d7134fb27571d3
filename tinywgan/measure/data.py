r"""Toy distributions and the small image set, drawn on the device of the generator you pass.

The 2-D toys follow the reference toy code exactly (Gulrajani et al. 2017,
igul222/improved_wgan_training ``gan_toy.py``), except that every point picks its mode
independently (``gan_toy.py`` cycles 25gaussians through a shuffled fixed set):

- ``8gaussians``: centres c in {(+-1, 0), (0, +-1), (+-1/sqrt2, +-1/sqrt2)};
  x = (2 c + 0.02 e) / 1.414, e ~ N(0, I_2);
- ``25gaussians``: centres (2i, 2j), i, j in {-2..2}; x = ((2i, 2j) + 0.05 e) / 2.828;
- ``swissroll``: scikit-learn's ``make_swiss_roll(n, noise=0.25)`` columns [0, 2], divided by 7.5:
  t = 1.5 pi (1 + 2u), u ~ U[0, 1]; x = ((t cos t, t sin t) + 0.25 e) / 7.5.

And the two mixtures of the published mode-collapse tables (Srivastava et al. 2017, "VEEGAN";
Lin et al. 2018, "PacGAN"), unscaled as they are there (``tinywgan.job.protocol``):

- ``ring``: 8 distinct centres on the unit circle, 45 degrees apart; x = c + 0.01 e;
- ``grid``: centres (i, j), i, j in {-4, -2, 0, 2, 4}; x = c + 0.05 e.

(``ring`` is ``8gaussians`` shrunk by 1/1.414 exactly; ``grid`` is ``25gaussians`` grown by 2.828.)

Also the parallel lines P_theta = (theta, Z), Z ~ U[0, 1] (Arjovsky et al. 2017,
Example 1), a 1-D two-Gaussian mixture with its exact density (for the optimal discriminator
D* = p_r / (p_r + p_g), Goodfellow et al. 2014), and scikit-learn's 8x8 digits.

Device idiom: ``rng`` comes from ``tinywgan.backend.rng(xp, seed, *stream)``; only
``rng.random``, ``rng.standard_normal`` and ``rng.integers`` are used (NumPy and CuPy share them).
The result lands on rng's device; host constants move there explicitly with ``xp.asarray``.
"""
import math

import numpy as np

from ..backend import check_dtype, get_array_module
from ..validate import number

#: 8gaussians: the unit-circle centres, the scale, the noise std and the final divisor.
_RING = [(1, 0), (-1, 0), (0, 1), (0, -1),
         (1 / math.sqrt(2), 1 / math.sqrt(2)), (1 / math.sqrt(2), -1 / math.sqrt(2)),
         (-1 / math.sqrt(2), 1 / math.sqrt(2)), (-1 / math.sqrt(2), -1 / math.sqrt(2))]
_GRID = np.array([(2.0 * i, 2.0 * j) for i in range(-2, 3) for j in range(-2, 3)])
_MIXTURES = {
    #  name          raw centres (before /divisor)                             noise  divisor
    "8gaussians": (np.array(_RING, dtype=np.float64) * 2.0, 0.02, 1.414),
    "25gaussians": (_GRID, 0.05, 2.828),
    "ring": (np.array(_RING, dtype=np.float64), 0.01, 1.0),
    "grid": (_GRID, 0.05, 1.0),
}
#: The datasets with modes (``centres``, ``mode_std``; scored by ``metrics.mode_coverage``).
MIXTURES = tuple(_MIXTURES)

#: mixture_1d: weights, means and std of 0.5 N(-2, 0.5^2) + 0.5 N(2, 0.5^2).
MIXTURE_1D_WEIGHTS = (0.5, 0.5)
MIXTURE_1D_MEANS = (-2.0, 2.0)
MIXTURE_1D_STD = 0.5


def _check_n(n):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError("n must be a positive int (the number of points), got %r" % (n,))
    return int(n)


def _check_rng(rng):
    if not all(hasattr(rng, m) for m in ("random", "standard_normal", "integers")):
        raise TypeError("rng must be a random generator from tinywgan.backend.rng(xp, seed, ...), "
                        "got %s" % type(rng).__name__)


def _gaussian_mixture(name, n, rng, dtype):
    """x = (raw_centre[k] + noise * e) / divisor, k ~ U{0..K-1}, e ~ N(0, I_2). Returns (n, 2)."""
    n, dtype = _check_n(n), check_dtype(dtype)
    _check_rng(rng)
    raw, noise, divisor = _MIXTURES[name]
    k = rng.integers(0, raw.shape[0], size=n)                        # (n,) mode of each point
    e = rng.standard_normal((n, 2), dtype=dtype)                     # (n, 2)
    xp = get_array_module(e)
    c = xp.asarray(raw, dtype=dtype)                                 # (K, 2) host -> device
    return (c[k] + noise * e) / divisor                              # (n, 2)


def eight_gaussians(n, rng, dtype=np.float32):
    """8gaussians: x = (2 c + 0.02 e) / 1.414, c one of 8 points on the unit circle.

    Inputs: n: int > 0; rng: backend.rng(...); dtype: float32 or float64.
    Returns: x: (n, 2) on rng's device.
    """
    return _gaussian_mixture("8gaussians", n, rng, dtype)


def twentyfive_gaussians(n, rng, dtype=np.float32):
    """25gaussians: x = ((2i, 2j) + 0.05 e) / 2.828, i, j uniform in {-2..2}.

    Inputs: n: int > 0; rng: backend.rng(...); dtype: float32 or float64.
    Returns: x: (n, 2) on rng's device.
    """
    return _gaussian_mixture("25gaussians", n, rng, dtype)


def ring(n, rng, dtype=np.float32):
    """ring (VEEGAN, PacGAN): x = c + 0.01 e, c one of 8 points on the unit circle, unscaled.

    Inputs: n: int > 0; rng: backend.rng(...); dtype: float32 or float64.
    Returns: x: (n, 2) on rng's device.
    """
    return _gaussian_mixture("ring", n, rng, dtype)


def grid(n, rng, dtype=np.float32):
    """grid (VEEGAN, PacGAN): x = (2i, 2j) + 0.05 e, i, j uniform in {-2..2}, unscaled.

    Inputs: n: int > 0; rng: backend.rng(...); dtype: float32 or float64.
    Returns: x: (n, 2) on rng's device.
    """
    return _gaussian_mixture("grid", n, rng, dtype)


def swissroll(n, rng, dtype=np.float32):
    r"""Swiss roll: t = 1.5 pi (1 + 2u), x = ((t cos t, t sin t) + 0.25 e) / 7.5.

    Inputs: n: int > 0; rng: backend.rng(...); dtype: float32 or float64.
    Returns: x: (n, 2) on rng's device (radius t/7.5 in [0.63, 1.88], plus noise).
    """
    n, dtype = _check_n(n), check_dtype(dtype)
    _check_rng(rng)
    u = rng.random(n, dtype=dtype)                                   # (n,) u ~ U[0, 1)
    e = rng.standard_normal((n, 2), dtype=dtype)                     # (n, 2)
    xp = get_array_module(u)
    t = 1.5 * math.pi * (1 + 2 * u)                                  # (n,) t in [1.5pi, 4.5pi)
    roll = xp.stack([t * xp.cos(t), t * xp.sin(t)], axis=1)          # (n, 2) (t cos t, t sin t)
    return (roll + 0.25 * e) / 7.5


def parallel_lines(n, theta, rng, dtype=np.float32):
    """The parallel lines P_theta (Arjovsky et al. 2017, Example 1): points (theta, Z), Z ~ U[0, 1].

    Two calls with generators made from the same (seed, stream) share Z, so the sets differ by
    the shift theta alone: W1 = |theta| while JS = log 2 and KL = inf for theta != 0.
    Inputs: n: int > 0; theta: finite float; rng: backend.rng(...); dtype.
    Returns: x: (n, 2) on rng's device, x[:, 0] = theta.
    """
    n, dtype = _check_n(n), check_dtype(dtype)
    theta = number("theta (the line's x position)", theta)
    _check_rng(rng)
    z = rng.random((n, 1), dtype=dtype)                              # (n, 1) Z ~ U[0, 1)
    xp = get_array_module(z)
    return xp.concatenate([xp.full((n, 1), theta, dtype=dtype), z], axis=1)   # (n, 2)


def mixture_1d(n, rng, dtype=np.float32):
    """1-D mixture 0.5 N(-2, 0.5^2) + 0.5 N(2, 0.5^2): x = mu_k + 0.5 e, k uniform in {0, 1}.

    Inputs: n: int > 0; rng: backend.rng(...); dtype. Returns: x: (n, 1) on rng's device.
    """
    n, dtype = _check_n(n), check_dtype(dtype)
    _check_rng(rng)
    k = rng.integers(0, 2, size=(n, 1))                              # (n, 1) component
    e = rng.standard_normal((n, 1), dtype=dtype)                     # (n, 1)
    xp = get_array_module(e)
    mu = xp.asarray(np.array(MIXTURE_1D_MEANS), dtype=dtype)         # (2,) host -> device
    return mu[k] + MIXTURE_1D_STD * e                                # (n, 1)


def mixture_1d_pdf(x):
    r"""Exact density of ``mixture_1d`` (host NumPy):

        p(x) = sum_k w_k exp(-(x - mu_k)^2 / (2 s^2)) / (s sqrt(2 pi))

    Inputs: x: any shape, host array or number. Returns: p: float64, same shape as x.
    """
    x = np.asarray(x, dtype=np.float64)
    s = MIXTURE_1D_STD
    p = np.zeros_like(x)
    for w, mu in zip(MIXTURE_1D_WEIGHTS, MIXTURE_1D_MEANS):
        p += w * np.exp(-(x - mu) ** 2 / (2 * s * s)) / (s * math.sqrt(2 * math.pi))
    return p


def digits(xp=np, dtype=np.float32):
    """scikit-learn's 8x8 handwritten digits (shipped with it, no download), pixels 0..16.

    x = pixel / 8 - 1 maps 0..16 onto [-1, 1] (a tanh generator's range).
    Inputs: xp: array module of the target device; dtype.
    Returns: x: (1797, 64) on xp's device. Labels are left out: a GAN does not use them.
    """
    dtype = check_dtype(dtype)
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:
        raise ImportError("digits() needs scikit-learn, which ships the 8x8 digits: "
                          "pip install scikit-learn (or pip install 'tinywgan[digits]')") from err
    pixels = np.asarray(load_digits().data, dtype=np.float64).reshape(-1, 64)   # (1797, 64)
    return xp.asarray(pixels / 8.0 - 1.0, dtype=dtype)


#: Name -> sampler for the 2-D toys; each is f(n, rng, dtype) -> (n, 2).
TOY_DATASETS = {"8gaussians": eight_gaussians, "25gaussians": twentyfive_gaussians,
                "swissroll": swissroll, "ring": ring, "grid": grid}

#: Every dataset a Trainer can learn -> its dimension d: the toys, and the digits as 64-pixel
#: vectors (``sample`` draws them with replacement from the 1797 images).
DATASETS = dict({name: 2 for name in TOY_DATASETS}, digits=64)

DIGITS_N = 1797                  # images in scikit-learn's digits set

_DIGITS_CACHE = {}               # (array module name, dtype) -> the (1797, 64) set on that device


def _digit_rows(n, rng, dtype):
    """n digits drawn uniformly with replacement: rows i ~ U{0..1796} of ``digits()``.

    The set is loaded once per (array module, dtype) and kept on that device.
    Inputs: n: int > 0; rng: backend.rng(...); dtype: float32 or float64.
    Returns: x: (n, 64) on rng's device, pixels in [-1, 1]."""
    n, dtype = _check_n(n), check_dtype(dtype)
    _check_rng(rng)
    i = rng.integers(0, DIGITS_N, size=n)                            # (n,) row of each draw
    xp = get_array_module(i)
    key = (xp.__name__, str(dtype))
    if key not in _DIGITS_CACHE:
        _DIGITS_CACHE[key] = digits(xp, dtype)                       # (1797, 64)
    return _DIGITS_CACHE[key][i]                                     # (n, 64)


def _check_name(name, known, why=""):
    if not isinstance(name, str) or name not in known:
        raise ValueError("name must be one of %s%s, got %r" % (sorted(known), why, name))


def sample(name, n, rng, dtype=np.float32):
    """n points of the dataset ``name`` (a key of DATASETS: a toy, or 'digits', drawn with
    replacement from the 1797 images). Returns: (n, DATASETS[name]) on rng's device."""
    _check_name(name, DATASETS)
    if name == "digits":
        return _digit_rows(n, rng, dtype)
    return TOY_DATASETS[name](_check_n(n), rng, dtype)


def centres(name):
    """Mode centres of a Gaussian-mixture toy after its scaling (host NumPy).

    Returns: (K, 2) float64; K = 8 for 8gaussians and ring, 25 for 25gaussians and grid.
    """
    _check_name(name, _MIXTURES, " (only the Gaussian mixtures have modes)")
    raw, _, divisor = _MIXTURES[name]
    return raw / divisor


def mode_std(name):
    """Per-coordinate noise std of each mode after scaling: 0.02/1.414, 0.05/2.828, 0.01 (ring)
    or 0.05 (grid)."""
    _check_name(name, _MIXTURES, " (only the Gaussian mixtures have modes)")
    _, noise, divisor = _MIXTURES[name]
    return noise / divisor
