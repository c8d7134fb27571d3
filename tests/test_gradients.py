"""Every hand-derived gradient against finite differences (float64), over random shapes.

Tolerance 1e-6 (CS231n relative error). ReLU-family draws are kept only when every
pre-activation is at least 1e-4 from its kink (the differences use h = 1e-6).
"""
import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

from tinywgan import gradcheck as gc
from tinywgan.layers import ACTIVATIONS, get_activation

ACTS = sorted(ACTIVATIONS) + ["leaky_relu:0.05"]
SMOOTH = [a for a in ACTS if get_activation(a).second_order]

nets = st.fixed_dictionaries({
    "act": st.sampled_from(ACTS),
    "d_in": st.integers(1, 4),
    "hidden": st.lists(st.integers(1, 7), min_size=1, max_size=5),
    "N": st.integers(2, 6),
    "scale": st.floats(0.3, 3.0),
    "seed": st.integers(0, 2 ** 16),
})


def _widths(p, d_out=1):
    return (p["d_in"], *p["hidden"], d_out)


def _ok(row):
    """A check passes. Its finite differences must not straddle a ReLU kink (kink_margin, the
    smallest |pre-activation| over the perturbed inputs, > 1e-4): there the difference, not the
    backward, is wrong. Fixed examples must keep clear of kinks; see _ok_or_reject."""
    assert row.get("kink_margin", np.inf) > 1e-4, "%s: the check straddles a kink" % row["what"]
    assert row["ok"], "%s: relative error %.3g > %.0e" % (row["what"], row["error"], row["tol"])


def _ok_or_reject(row):
    """_ok for hypothesis examples: one whose differences straddle a kink is rejected (assume)
    rather than failed, and hypothesis draws another."""
    assume(row.get("kink_margin", np.inf) > 1e-4)
    _ok(row)


@pytest.mark.parametrize("act", ACTS)
def test_activation_derivatives(act):
    """s' against differences of s, and s'' against differences of s'."""
    for row in gc.check_activation(act, seed=1, n=200):
        _ok(row)


@pytest.mark.parametrize("act", ACTS)
def test_activation_layer_and_its_double_backward(act):
    for row in gc.check_activation_layer(act, seed=2):
        _ok(row)


def test_linear_layer_and_its_double_backward():
    for row in gc.check_linear(seed=3) + gc.check_linear_double_backward(seed=3):
        _ok(row)


@given(nets, st.integers(1, 3))
def test_mlp_backward(p, d_out):
    for row in gc.check_mlp_backward(p["act"], _widths(p, d_out), p["N"], p["seed"], p["scale"]):
        _ok_or_reject(row)


@given(nets)
def test_input_gradient(p):
    _ok_or_reject(gc.check_input_gradient(p["act"], _widths(p), p["N"], p["seed"], p["scale"]))


@given(nets, st.floats(0.1, 20.0), st.booleans())
def test_gradient_penalty_weight_gradients(p, lam, one_sided):
    """The double backward, s'' path included, for every activation."""
    _ok_or_reject(gc.check_penalty(p["act"], _widths(p), p["N"], lam, one_sided, p["seed"],
                                   p["scale"]))


@given(st.sampled_from(SMOOTH), st.lists(st.integers(1, 6), min_size=1, max_size=4),
       st.integers(2, 6), st.integers(0, 2 ** 16))
def test_full_wgan_gp_critic_loss(act, hidden, N, seed):
    """Wasserstein term plus penalty, one function of all parameters."""
    _ok_or_reject(gc.check_wgan_gp_critic(act, (2, *hidden, 1), N, lam=10.0, seed=seed))


@given(st.sampled_from(SMOOTH), st.sampled_from(["wasserstein", "minimax", "nonsaturating"]),
       st.integers(0, 2 ** 16))
def test_generator_gradients_through_critic(act, loss, seed):
    _ok_or_reject(gc.check_generator(act, loss, seed))


@given(st.sampled_from(SMOOTH), st.integers(0, 2 ** 16))
def test_spectral_norm_backward(act, seed):
    _ok_or_reject(gc.check_spectral_norm(act, seed=seed))


def test_gan_loss_gradients():
    for row in gc.check_gan_losses(seed=4):
        _ok(row)


def test_the_penalty_gradient_is_not_trivially_zero():
    """Guard against a vacuous check: for a smooth net the s'' path carries real gradient,
    and dropping it (as numpy-ml does) is caught by the check."""
    from tinywgan.mlp import MLP
    net = MLP((2, 6, 5, 1), "tanh", dtype="float64", seed=0)
    x = np.random.default_rng(1).normal(size=(5, 2))
    net.zero_grad()
    net.gradient_penalty(x, 10.0)
    full = net.grads.copy()
    assert np.abs(net.db[0]).max() > 1e-3        # biases get gradient only via s''
    net.act.second_order = False                 # pretend s'' = 0, as numpy-ml's WGAN-GP does
    try:
        net.zero_grad()
        net.gradient_penalty(x, 10.0)
        assert gc.rel_error(net.grads, full) > 1e-2
    finally:
        net.act.second_order = True


def test_rel_error_is_cs231ns():
    assert gc.rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert gc.rel_error(np.array([1.0]), np.array([3.0])) == pytest.approx(0.5)
    assert gc.rel_error(np.array([0.0]), np.array([1e-9])) == pytest.approx(0.1)   # 1e-8 floor


def test_run_all_passes_in_float64():
    rows = gc.run_all(seed=0)
    bad = [r for r in rows if not r["ok"]]
    assert not bad, gc.format_table(bad)
