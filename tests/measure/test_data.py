"""The toy datasets: on the right device, of the right dtype, reproducible, and the distributions
they claim to be (mode frequencies, noise std, the swiss roll's curve, the 1-D mixture's density).

Statistical checks use fixed seeds and bounds of about 5 standard errors.
"""
import math
import sys
import types

import numpy as np
import pytest

from tinywgan import backend
from tinywgan.measure import data
from tinywgan.measure.data import TOY_DATASETS

DTYPES = [np.float32, np.float64]
MIXTURES = ["8gaussians", "25gaussians", "ring", "grid"]


def _samplers():
    """(label, f(n, rng, dtype) -> array, number of columns) for every generator in data.py."""
    return [(name, f, 2) for name, f in TOY_DATASETS.items()] + [
        ("parallel_lines", lambda n, g, dt: data.parallel_lines(n, 0.7, g, dt), 2),
        ("mixture_1d", data.mixture_1d, 1)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("label,f,cols", _samplers(), ids=[s[0] for s in _samplers()])
def test_shape_dtype_device(device, dtype, label, f, cols):
    xp = backend.array_module(device)
    x = f(37, backend.rng(xp, 0, "test"), dtype)
    assert isinstance(x, xp.ndarray), "%s returned %s, not %s's array" % (label, type(x), device)
    assert x.shape == (37, cols) and x.dtype == np.dtype(dtype)
    assert np.isfinite(backend.to_numpy(x)).all()


@pytest.mark.parametrize("name", sorted(TOY_DATASETS))
def test_sample_dispatches_and_is_deterministic(device, name):
    xp = backend.array_module(device)
    a = backend.to_numpy(data.sample(name, 50, backend.rng(xp, 3, "data", 1)))
    b = backend.to_numpy(data.sample(name, 50, backend.rng(xp, 3, "data", 1)))
    c = backend.to_numpy(data.sample(name, 50, backend.rng(xp, 3, "data", 2)))
    direct = backend.to_numpy(TOY_DATASETS[name](50, backend.rng(xp, 3, "data", 1)))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, direct)
    assert not np.array_equal(a, c), "another stream must give other points"


@pytest.mark.parametrize("label,f,cols", _samplers(), ids=[s[0] for s in _samplers()])
def test_strict_device_draws_the_same_numbers_as_cpu(label, f, cols):
    """The strict device wraps NumPy's generator, so any difference is a device-path bug."""
    cpu = f(64, backend.rng(np, 5), np.float64)
    strict = f(64, backend.rng(backend.array_module("strict"), 5), np.float64)
    np.testing.assert_array_equal(cpu, backend.to_numpy(strict))


@pytest.mark.parametrize("name", MIXTURES)
def test_centres_and_mode_std(name):
    c = data.centres(name)
    raw, noise, div = {"8gaussians": (2.0, 0.02, 1.414), "25gaussians": (2.0, 0.05, 2.828),
                       "ring": (1.0, 0.01, 1.0), "grid": (2.0, 0.05, 1.0)}[name]
    assert c.dtype == np.float64
    assert data.mode_std(name) == pytest.approx(noise / div)
    assert data.MIXTURES == tuple(MIXTURES)
    if name in ("8gaussians", "ring"):
        assert c.shape == (8, 2)
        np.testing.assert_allclose(np.linalg.norm(c, axis=1), raw / div)      # all on one ring
        angles = np.sort(np.arctan2(c[:, 1], c[:, 0]))
        np.testing.assert_allclose(np.diff(angles), np.pi / 4, atol=1e-12)   # 45 degrees apart
    else:
        assert c.shape == (25, 2)
        grid = {(i, j) for i in range(-2, 3) for j in range(-2, 3)}
        assert {tuple(p) for p in np.round(c * div / raw).astype(int)} == grid
        np.testing.assert_allclose(np.abs(c).max(), 4 / div)


@pytest.mark.parametrize("name", MIXTURES)
def test_mixture_mode_frequencies_and_noise(name):
    """Nearest-centre counts ~ multinomial(n, 1/K); residuals ~ N(0, mode_std^2) per coordinate."""
    n = 20000
    x = backend.to_numpy(data.sample(name, n, backend.rng(np, 11, name), np.float64))
    c = data.centres(name)
    K = c.shape[0]
    nearest = np.linalg.norm(x[:, None, :] - c[None], axis=2).argmin(axis=1)
    counts = np.bincount(nearest, minlength=K)
    sd = math.sqrt(n * (1 / K) * (1 - 1 / K))                       # binomial std of a count
    assert np.abs(counts - n / K).max() < 5 * sd, counts
    resid = x - c[nearest]                                           # (n, 2)
    np.testing.assert_allclose(resid.mean(axis=0), 0, atol=5 * data.mode_std(name) / math.sqrt(n))
    np.testing.assert_allclose(resid.std(axis=0), data.mode_std(name), rtol=0.03)


def test_swissroll_lies_on_the_roll():
    """Undo the scaling: radius r ~ t in [1.5 pi, 4.5 pi], and the angle matches t (mod 2 pi)."""
    x = backend.to_numpy(data.swissroll(5000, backend.rng(np, 2), np.float64)) * 7.5
    r = np.linalg.norm(x, axis=1)
    assert 1.5 * np.pi - 1.5 < r.min() and r.max() < 4.5 * np.pi + 1.5   # 6 noise std margin
    assert r.mean() == pytest.approx(3 * np.pi, abs=0.2)                 # E t = 3 pi
    gap = np.angle(np.exp(1j * (np.arctan2(x[:, 1], x[:, 0]) - r)))     # wrap(angle - t)
    assert np.median(np.abs(gap)) < 0.3, "points do not follow (t cos t, t sin t)"


def test_parallel_lines(device):
    xp = backend.array_module(device)
    x = backend.to_numpy(data.parallel_lines(4000, -0.3, backend.rng(xp, 1), np.float32))
    assert (x[:, 0] == np.float32(-0.3)).all()
    z = x[:, 1]
    assert z.min() >= 0 and z.max() < 1
    assert z.mean() == pytest.approx(0.5, abs=5 * math.sqrt(1 / 12 / 4000))


def test_mixture_1d_matches_its_density():
    pdf = data.mixture_1d_pdf
    t = np.linspace(-10, 10, 20001)
    trapezoid = getattr(np, "trapezoid", None) or np.trapz          # NumPy 2 renamed trapz
    assert trapezoid(pdf(t), t) == pytest.approx(1.0, abs=1e-9)
    assert pdf(2.0) == pytest.approx(0.5 / (0.5 * math.sqrt(2 * math.pi)), rel=1e-6)
    assert pdf(np.zeros((3, 4))).shape == (3, 4)
    x = backend.to_numpy(data.mixture_1d(40000, backend.rng(np, 4), np.float64))[:, 0]
    dens, edges = np.histogram(x, bins=40, range=(-4, 4), density=False)
    dens = dens / (x.size * (edges[1] - edges[0]))                  # empirical density
    mids = (edges[:-1] + edges[1:]) / 2
    assert np.abs(dens - pdf(mids)).max() < 0.03
    assert (x > 0).mean() == pytest.approx(0.5, abs=5 * 0.5 / math.sqrt(x.size))


def _fake_sklearn(monkeypatch, pixels):
    mod = types.ModuleType("sklearn.datasets")
    mod.load_digits = lambda: types.SimpleNamespace(data=pixels)
    monkeypatch.setitem(sys.modules, "sklearn", types.ModuleType("sklearn"))
    monkeypatch.setitem(sys.modules, "sklearn.datasets", mod)


def test_digits_without_sklearn_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        data.digits()


@pytest.mark.parametrize("dtype", DTYPES)
def test_digits_scaling_and_device(monkeypatch, device, dtype):
    """0..16 pixels map onto [-1, 1] (0 -> -1, 8 -> 0, 16 -> 1), on xp's device."""
    pixels = np.random.default_rng(0).integers(0, 17, size=(1797, 64)).astype(np.float64)
    pixels[0, :3] = (0, 8, 16)
    _fake_sklearn(monkeypatch, pixels)
    xp = backend.array_module(device)
    x = data.digits(xp, dtype)
    assert isinstance(x, xp.ndarray) and x.shape == (1797, 64) and x.dtype == np.dtype(dtype)
    h = backend.to_numpy(x)
    np.testing.assert_array_equal(h[0, :3], [-1, 0, 1])
    np.testing.assert_allclose(h, pixels / 8 - 1, rtol=1e-6)


def test_digits_real():
    pytest.importorskip("sklearn")
    x = data.digits()
    assert x.shape == (1797, 64) and x.dtype == np.float32
    assert x.min() == -1 and x.max() == 1


@pytest.mark.parametrize("bad_n", [0, -3, 2.5, "10", True, None])
@pytest.mark.parametrize("name", sorted(TOY_DATASETS))
def test_bad_n(name, bad_n):
    rng = backend.rng(np, 0)
    with pytest.raises(ValueError, match="n must be a positive int"):
        data.sample(name, bad_n, rng)
    with pytest.raises(ValueError, match="n must be a positive int"):
        TOY_DATASETS[name](bad_n, rng)


def test_bad_arguments():
    rng = backend.rng(np, 0)
    with pytest.raises(ValueError, match=r"name must be one of \['25gaussians', '8gaussians', "
                                         r"'digits', 'grid', 'ring', 'swissroll'\], got 'moons'"):
        data.sample("moons", 10, rng)
    with pytest.raises(ValueError, match="name .*only the Gaussian mixtures have modes"):
        data.centres("swissroll")
    with pytest.raises(ValueError, match="name"):
        data.mode_std("swissroll")
    with pytest.raises(ValueError, match="dtype must be float32"):
        data.eight_gaussians(10, rng, np.int64)
    with pytest.raises(ValueError, match="dtype"):
        data.digits(np, np.float16)
    for theta in (float("nan"), float("inf"), "0.5", None):
        with pytest.raises((ValueError, TypeError), match=r"theta \(the line's x position\) "
                                                          r"must be a finite number"):
            data.parallel_lines(10, theta, rng)
    with pytest.raises(TypeError, match="rng must be a random generator"):
        data.swissroll(10, 0)


def test_dimension_of_every_dataset():
    assert data.DATASETS == {
        "8gaussians": 2, "25gaussians": 2, "swissroll": 2, "ring": 2, "grid": 2, "digits": 64}
    assert set(TOY_DATASETS) < set(data.DATASETS)


@pytest.mark.parametrize("dtype", DTYPES)
def test_digits_sample_draws_rows_of_the_set_by_seed(device, dtype):
    """data.sample('digits', ...) is digits()[i] with i = rng.integers(0, 1797, size=n): the
    same index draw, so the rows are the set's own, uniform with replacement, on rng's device."""
    pytest.importorskip("sklearn")
    xp = backend.array_module(device)
    x = data.sample("digits", 300, backend.rng(xp, 4, "digits"), dtype)
    assert isinstance(x, xp.ndarray), "digits on %s came back as %s" % (device, type(x))
    assert x.shape == (300, 64) and x.dtype == np.dtype(dtype)
    h = backend.to_numpy(x)
    assert h.min() >= -1 and h.max() <= 1
    images = data.digits(np, dtype)                                           # (1797, 64)
    i = backend.rng(np, 4, "digits").integers(0, data.DIGITS_N, size=300)
    np.testing.assert_array_equal(h, images[i])
    again = backend.to_numpy(data.sample("digits", 300, backend.rng(xp, 4, "digits"), dtype))
    other = backend.to_numpy(data.sample("digits", 300, backend.rng(xp, 5, "digits"), dtype))
    np.testing.assert_array_equal(h, again)
    assert not np.array_equal(h, other), "another seed must draw other digits"


def test_digits_sample_covers_the_set_uniformly():
    """20000 draws from 1797 rows: every row about 11 times (a row never drawn has probability
    1797 exp(-11.1) ~ 3 %, so allow a few), and no row more than 5 std above the mean."""
    pytest.importorskip("sklearn")
    images = data.digits(np, np.float64)
    x = data.sample("digits", 20000, backend.rng(np, 9), np.float64)
    _, rows, counts = np.unique(x, axis=0, return_index=True, return_counts=True)
    distinct = np.unique(images, axis=0).shape[0]               # the set has a few duplicates
    assert rows.size >= distinct - 5, (rows.size, distinct)
    lam = 20000 / data.DIGITS_N
    assert counts.max() < 5 * lam, counts.max()     # duplicated images count double, so loosely


def test_digits_are_loaded_once_per_device_and_dtype(monkeypatch):
    pytest.importorskip("sklearn")
    monkeypatch.setattr(data, "_DIGITS_CACHE", {})
    loads = []
    real_digits = data.digits
    monkeypatch.setattr(data, "digits",
                        lambda xp, dt: loads.append((xp, dt)) or real_digits(xp, dt))
    for _ in range(3):
        data.sample("digits", 10, backend.rng(np, 0), np.float32)
    assert len(loads) == 1
    data.sample("digits", 10, backend.rng(np, 0), np.float64)
    strict = data.sample("digits", 10, backend.rng(backend.array_module("strict"), 0), np.float32)
    assert len(loads) == 3 and isinstance(strict, backend.array_module("strict").ndarray)


def test_digits_sample_without_sklearn_says_what_to_install(monkeypatch):
    monkeypatch.setattr(data, "_DIGITS_CACHE", {})
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        data.sample("digits", 5, backend.rng(np, 0))


@pytest.mark.parametrize("bad_n", [0, -3, 2.5, True])
def test_digits_bad_n(bad_n):
    with pytest.raises(ValueError, match="n must be a positive int"):
        data.sample("digits", bad_n, backend.rng(np, 0))
