"""The strict test device: CuPy's strictness without a GPU, and the core running on it.

Every device-path test runs on 'cpu' and 'strict' (and 'gpu' where CuPy and a GPU are present:
``tests/conftest.py``). On the strict device a host array mixed into a device computation, or a
device array silently turned into a host one, raises TypeError, as it does (or breaks) on a GPU.
"""
import numpy as np
import pytest

from tinywgan import backend, strict
from tinywgan.measure import bounds
from tinywgan.core.mlp import MLP

xp = strict.xp


# ---- the device itself ------------------------------------------------------------------------

def test_strict_refuses_host_arrays_in_operations():
    a = xp.ones((3, 2), dtype=np.float32)
    host = np.ones((3, 2), dtype=np.float32)
    for op in (lambda: a + host, lambda: host * a, lambda: a @ host.T, lambda: xp.maximum(a, host),
               lambda: np.concatenate([a, host])):
        with pytest.raises(TypeError, match="host NumPy array .* mixed with device arrays"):
            op()
    with pytest.raises(TypeError, match="host NumPy array"):
        a[np.array([0, 1])] = 0.0
    with pytest.raises(TypeError, match="host NumPy array"):
        a[...] = host
    with pytest.raises(TypeError, match="host NumPy array"):
        np.add(a, a, out=(host,))


def test_strict_refuses_silent_conversion_to_host():
    a = xp.ones((3, 2))
    with pytest.raises(TypeError, match="implicit conversion"):
        np.asarray(a)
    with pytest.raises(TypeError, match="implicit conversion"):
        np.array(a)


def test_strict_allows_what_cupy_allows():
    a = xp.arange(6.0).reshape(2, 3)
    assert isinstance(a, xp.ndarray) and isinstance(a.sum(), xp.ndarray)   # 0-d, like CuPy
    assert float(a.sum()) == 15.0                                        # explicit scalar sync
    assert isinstance(a * 2.0 + np.float64(1.0), xp.ndarray)           # scalars mix freely
    assert np.array_equal(backend.to_numpy(a), np.arange(6.0).reshape(2, 3))
    assert np.array_equal(a.get(), backend.to_numpy(xp.asarray(np.arange(6.0)).reshape(2, 3)))
    b = xp.empty_like(a)
    np.multiply(a, 2, out=b)
    a += b
    assert float(a[1, 2]) == 15.0 and backend.get_array_module(a) is xp


#: What backend.rng(xp, 7, "data", 3).standard_normal((4, 2), dtype=float32) draws: written down
#: here, not drawn again by the code under test, so that every device, the CPU included, is held
#: to numbers it did not produce (and a change to the streams, which would change every seeded
#: run the README quotes, shows).
DRAWS_7_DATA_3 = np.array([[0.41297987, -1.2976153], [-1.3000411, 1.2218598],
                           [-1.3056123, 0.3814968], [0.5837592, 0.32678005]], dtype=np.float32)


def test_rng_draws_the_same_numbers_on_every_device(device):
    d = backend.array_module(device)
    x = backend.rng(d, 7, "data", 3).standard_normal((4, 2), dtype=np.float32)
    assert isinstance(x, d.ndarray)
    np.testing.assert_array_equal(backend.to_numpy(x), DRAWS_7_DATA_3)
    other = backend.rng(d, 7, "data", 4).standard_normal((4, 2), dtype=np.float32)
    assert not np.array_equal(backend.to_numpy(other), DRAWS_7_DATA_3)


# ---- the core on the device -------------------------------------------------------------------

@pytest.mark.parametrize("act", ["relu", "tanh", "silu"])
@pytest.mark.parametrize("sn", [False, True])
def test_core_runs_on_the_device_and_matches_the_cpu(device, act, sn):
    """Forward, backward, input gradient, penalty and spectral norm: finite numbers, the same as
    another device's: NumPy's for the strict device and the GPU, and for the CPU the strict
    device's (the CPU against itself would prove nothing)."""
    reference = "strict" if device == "cpu" else "cpu"
    x = np.random.default_rng(0).normal(size=(6, 2))

    def run(dev):
        net = MLP((2, 8, 8, 1), act, spectral_norm=sn, dtype="float64", device=dev, seed=1)
        xd = backend.array_module(dev).asarray(x)
        net.zero_grad()
        net.spectral_normalise()
        out, cache = net.forward(xd)
        dx = net.backward(xd[:, :1] * 0 + 1.0, cache)
        R, norms = net.gradient_penalty(xd, 10.0)
        net.spectral_backward()
        bound = bounds.lipschitz_bound(net)
        est = bounds.lipschitz_estimate(net, xd)
        for a in (out, dx, R, norms, net.grads, net.params):
            assert backend.get_array_module(a) is backend.array_module(dev)
        return [backend.to_numpy(a) for a in (out, dx, R, norms, net.grads)] + [bound, est]

    names = ("f", "dx", "R", "norms", "grads", "Lipschitz bound", "Lipschitz estimate")
    for name, a, b in zip(names, run(device), run(reference)):
        assert np.all(np.isfinite(a)), "%s on %s: %s" % (name, device, a)
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, equal_nan=False,
                                   err_msg="%s: %s against %s" % (name, device, reference))


def test_a_planted_host_device_mix_is_caught():
    """The reason the strict device exists: code that works on NumPy and breaks on a GPU."""
    net = MLP((2, 4, 1), "tanh", device="strict")
    x = xp.asarray(np.zeros((3, 2), np.float32))
    net.forward(x)                                         # fine: everything on the device
    net.b[0][...] = xp.asarray(np.ones(4, np.float32))     # an explicit transfer: fine
    host_bias = np.ones(4, np.float32)                     # the planted bug: a host array ...
    with pytest.raises(TypeError, match="host NumPy array of shape \\(4,\\)"):
        net.b[0][...] = host_bias                          # ... written into device weights
    planted = MLP((2, 4, 1), "tanh", device="strict")
    planted.W = (planted.W[0].get(),) + planted.W[1:]      # a layer left on the host
    planted.W_used = planted.W
    with pytest.raises(TypeError, match="mixed with device arrays in numpy.matmul"):
        planted.forward(x)
