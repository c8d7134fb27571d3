"""Every Lipschitz claim against its bound."""
import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

from tinywgan.core import lipschitz
from tinywgan.measure import bounds
from tinywgan.core.layers import ACTIVATIONS
from tinywgan.core.mlp import MLP

ACTS = sorted(ACTIVATIONS)

nets = st.fixed_dictionaries({
    "act": st.sampled_from(ACTS),
    "hidden": st.lists(st.integers(1, 8), min_size=1, max_size=4),
    "d_in": st.integers(1, 3),
    "seed": st.integers(0, 2 ** 16),
    "scale": st.floats(0.1, 5.0),
})


def _net(p, **kw):
    return MLP((p["d_in"], *p["hidden"], 1), p["act"], dtype="float64", seed=p["seed"], **kw)


@given(nets)
def test_pairs_obey_the_spectral_bound(p):
    """|f(x1) - f(x2)| <= bound * ||x1 - x2|| for random pairs."""
    net = _net(p)
    g = np.random.default_rng(p["seed"])
    x1, x2 = g.normal(scale=p["scale"], size=(2, 64, p["d_in"]))
    bound = bounds.lipschitz_bound(net)
    lhs = np.abs(net(x1) - net(x2))[:, 0]
    rhs = bound * np.linalg.norm(x1 - x2, axis=1)
    assert np.all(lhs <= rhs * (1 + 1e-9) + 1e-12)


@given(nets)
def test_input_gradient_norms_obey_the_bound(p):
    net = _net(p)
    x = np.random.default_rng(p["seed"] + 1).normal(scale=p["scale"], size=(128, p["d_in"]))
    assert bounds.lipschitz_estimate(net, x) <= bounds.lipschitz_bound(net) * (1 + 1e-9)


@given(nets, st.sampled_from([0.001, 0.01, 0.1, 1.0]))
def test_clipped_net_obeys_the_clipping_bound(p, c):
    net = _net(p)
    net.params[...] *= 50                               # so that clipping really bites
    lipschitz.clip_weights(net.params, c)
    assert np.abs(net.params).max() <= c
    assert np.abs(net.params).max() == c                # it did clip something
    x = np.random.default_rng(0).normal(scale=p["scale"], size=(128, p["d_in"]))
    bound = bounds.clipping_bound(net.widths, c, net.act.lipschitz)
    assert bounds.lipschitz_bound(net) <= bound * (1 + 1e-9)
    assert bounds.lipschitz_estimate(net, x) <= bound * (1 + 1e-9)


def test_clipping_bound_is_reached_by_the_all_c_matrix():
    W = np.full((3, 4), 0.01)
    assert np.linalg.norm(W, 2) == pytest.approx(bounds.clipping_bound([3, 4], 0.01))


@given(nets)
def test_spectral_norm_makes_each_layer_norm_one(p):
    net = _net(p, spectral_norm=True)
    # Power iteration's sigma error shrinks like (s2/s1)^(2k): run enough steps for 1e-8 on the
    # slowest layer. A near-tie s2 ~ s1 would need thousands of steps; it is left out, not loosened.
    ratios = [s[1] / s[0] for s in (np.linalg.svd(W, compute_uv=False) for W in net.W)
              if len(s) > 1]
    assume(max(ratios, default=0.0) < 0.99)
    steps = max([int(np.ceil(np.log(1e-8) / (2 * np.log(r)))) for r in ratios if r > 0],
                default=1)
    for _ in range(steps + 5):
        net.power_iterate()
    net.spectral_normalise()
    for W_hat in net.W_used:
        assert np.linalg.norm(W_hat, 2) == pytest.approx(1.0, rel=1e-3)
    x = np.random.default_rng(2).normal(scale=p["scale"], size=(64, p["d_in"]))
    K = net.act.lipschitz ** (net.L - 1)
    assert bounds.lipschitz_bound(net) == pytest.approx(K, rel=1e-2)
    assert bounds.lipschitz_estimate(net, x) <= K * (1 + 1e-2)


def test_power_iteration_finds_the_largest_singular_value():
    W = np.random.default_rng(0).normal(size=(7, 5))
    u = np.ones(7) / np.sqrt(7)
    for _ in range(200):
        u, v, sigma = lipschitz.power_iteration(W, u)
    assert float(sigma) == pytest.approx(np.linalg.svd(W, compute_uv=False)[0], rel=1e-10)


@pytest.mark.parametrize("c", [0, -1, float("nan"), float("inf")])
def test_bad_clip_value(c):
    with pytest.raises(ValueError, match="clip_weights: c must be a finite number > 0"):
        lipschitz.clip_weights(np.zeros(3), c)
