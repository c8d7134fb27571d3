"""Every Lipschitz claim against its bound."""
import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

from tinywgan import strict
from tinywgan.core import lipschitz, steps
from tinywgan.measure import finitediff
from tinywgan.measure import bounds
from tinywgan.core.mlp import ACTIVATIONS, MLP

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


@pytest.mark.parametrize("device", ["cpu", "strict"])
def test_power_iteration_on_a_zero_matrix_keeps_u_and_gives_sigma_zero(device):
    """Before: v /= ||v|| + 1e-12 gave v = 0, then u = 0 for good (every later W^T u was 0)."""
    xp = MLP([2, 1], device=device).xp
    u0 = xp.asarray(np.array([0.6, 0.8]))
    u, v, sigma = lipschitz.power_iteration(xp.zeros((2, 3)), u0)
    assert np.array_equal(strict.asnumpy(u) if device == "strict" else u, [0.6, 0.8])
    assert float(xp.linalg.norm(v)) == 0 and float(sigma) == 0
    W = xp.asarray(np.random.default_rng(0).normal(size=(2, 3)))
    for _ in range(100):
        u, v, sigma = lipschitz.power_iteration(W, u)          # picks up once W moves
    assert float(sigma) == pytest.approx(np.linalg.svd(strict.asnumpy(W) if device == "strict"
                                                       else W, compute_uv=False)[0], rel=1e-10)


@pytest.mark.parametrize("layer", [0, 1, 2])
def test_spectral_norm_of_an_all_zero_layer_stays_zero_with_the_right_gradient(layer):
    """Before: sigma = 0 and W / sigma was 0/0, so forward returned NaN. Now the layer computes
    with W_hat = W = 0 (sigma read as 1; v = 0 holds sigma at 0 near W = 0), forward is finite,
    and the training step's gradient matches finite differences of its loss."""
    D = MLP([2, 5, 4, 1], "tanh", spectral_norm=True, dtype="float64", seed=3)
    rng = np.random.default_rng(4)
    for b in D.b:
        b[...] = rng.normal(scale=0.5, size=b.shape)
    D.W[layer][...] = 0
    D.power_iterate()
    D.spectral_normalise()
    assert float(D.sn.sigma[layer]) == 0 and not D.sn.v[layer].any()
    assert np.linalg.norm(D.sn.u[layer]) == pytest.approx(1.0)
    assert not D.W_used[layer].any()
    x_real, x_fake = rng.normal(size=(6, 2)), rng.normal(size=(6, 2)) + 1
    assert np.isfinite(D(x_real)).all()
    eps = rng.random((6, 1))

    def f():
        return float(steps.critic_grads(D, x_real, x_fake, eps, "wgan-sn", 10.0)["critic_loss"])
    f()
    analytic = D.grads.copy()
    assert np.isfinite(analytic).all() and D.dW[layer].any()       # the zero layer can move
    numeric = finitediff.numerical_gradient(f, D.params, h=1e-3, order=4)
    assert finitediff.rel_error(analytic, numeric) < 1e-6
