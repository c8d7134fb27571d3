"""Every hand-derived gradient against finite differences (float64), over random shapes.

Read top to bottom: the pieces (activations, layers), the networks (backward, input gradient,
the penalty's double backward), then the very functions that train (tinywgan.core.steps and the
fused tinywgan.fast) for every method and generator loss. Tolerance 1e-6 (CS231n's relative
error). ReLU-family draws are kept only when every pre-activation is at least 1e-4 from its
kink (the differences use h = 1e-6): across a kink the difference is wrong, not the backward.
"""
import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

from tinywgan import bugzoo, fast
from tinywgan.measure import finitediff, gradcheck as gc
from tinywgan.core import steps
from tinywgan.core.mlp import ACTIVATIONS, get_activation
from tinywgan.core.steps import GAN_LOSSES

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
    """A check passes, and its differences did not straddle a ReLU kink (kink_margin, the
    smallest |pre-activation| over the inputs, > 1e-4); fixed examples must keep clear of kinks."""
    assert row.get("kink_margin", np.inf) > 1e-4, "%s: the check straddles a kink" % row["what"]
    assert row["ok"], "%s: relative error %.3g > %.0e" % (row["what"], row["error"], row["tol"])


def _ok_or_reject(row):
    """_ok for hypothesis examples: one that straddles a kink is rejected, and another drawn."""
    assume(row.get("kink_margin", np.inf) > 1e-4)
    _ok(row)


# ---- the pieces ---------------------------------------------------------------------------------

@pytest.mark.parametrize("act", ACTS)
def test_activation_derivatives(act):
    """s' matches differences of s, and s'' differences of s'."""
    for row in gc.check_activation(act, seed=1, n=200):
        _ok(row)


@pytest.mark.parametrize("act", ACTS)
def test_activation_layer_and_its_double_backward(act):
    """An activation's backward, and both terms of its reverse (gH_bar and the s'' injection)."""
    for row in gc.check_activation_layer(act, seed=2):
        _ok(row)


def test_linear_layer_and_its_double_backward():
    """A linear layer's dx, dW, db, and the reverse of gH = gA W^T (gA_bar, W_bar)."""
    for row in gc.check_linear(seed=3) + gc.check_linear_double_backward(seed=3):
        _ok(row)


def test_gan_loss_gradients():
    """The GAN losses' gradients w.r.t. the logits, both generator losses."""
    for row in gc.check_gan_losses(seed=4):
        _ok(row)


# ---- the networks -------------------------------------------------------------------------------

@given(nets, st.integers(1, 3))
def test_mlp_backward(p, d_out):
    """MLP.backward's parameter gradients and dx, for any widths and activation."""
    for row in gc.check_mlp_backward(p["act"], _widths(p, d_out), p["N"], p["seed"], p["scale"]):
        _ok_or_reject(row)


@given(nets)
def test_input_gradient(p):
    """The input gradient (the penalty's first backward) is grad_x f."""
    _ok_or_reject(gc.check_input_gradient(p["act"], _widths(p), p["N"], p["seed"], p["scale"]))


@given(nets, st.floats(0.1, 20.0), st.booleans())
def test_gradient_penalty_weight_gradients(p, lam, one_sided):
    """The penalty's double backward, s'' path included, for every activation."""
    _ok_or_reject(gc.check_penalty(p["act"], _widths(p), p["N"], lam, one_sided, p["seed"],
                                   p["scale"]))


@given(nets, st.floats(0.1, 20.0))
def test_zero_centred_penalty_weight_gradients(p, gamma):
    """R1 and R2's penalty, (gamma/2) mean ||grad_x f||^2 (target 0), for every activation."""
    _ok_or_reject(gc.check_penalty(p["act"], _widths(p), p["N"], gamma / 2, False, p["seed"],
                                   p["scale"], target=0.0))


def test_dropping_the_s2_path_is_caught():
    """The penalty's s'' path carries real gradient (the hidden biases get theirs only through
    it): with it dropped (the planted bug) the penalty check fails while the backward passes."""
    broken = bugzoo.dropped_second_order("tanh")
    assert gc.check_mlp_backward(broken, seed=0)[0]["ok"]
    row = gc.check_penalty(broken, seed=0)
    assert not row["ok"] and row["error"] > 1e-2, row
    _ok(gc.check_penalty("tanh", seed=0))


# ---- the steps that train -----------------------------------------------------------------------

@given(st.sampled_from(steps.METHODS), st.sampled_from(SMOOTH + ["relu"]),
       st.lists(st.integers(1, 6), min_size=1, max_size=3), st.integers(2, 6),
       st.integers(0, 2 ** 16))
def test_critic_step(method, act, hidden, N, seed):
    """steps.critic_grads, the function the Trainer calls, for every method: whole loss."""
    _ok_or_reject(gc.check_critic_step(method, act, (2, *hidden, 1), N, lam=10.0, seed=seed))


@given(st.sampled_from(fast.FUSED_METHODS), st.sampled_from(["relu", "leaky_relu"]),
       st.lists(st.integers(1, 6), min_size=1, max_size=3), st.integers(2, 6),
       st.integers(0, 2 ** 16))
def test_fused_critic_step(method, act, hidden, N, seed):
    """The fused critic step (tinywgan.fast) against finite differences too."""
    _ok_or_reject(gc.check_critic_step(method, act, (2, *hidden, 1), N, lam=10.0, seed=seed,
                                       fused=True))


gammas = st.sampled_from([(1.0, 0.0), (0.0, 1.0), (1.0, 1.0)]).flatmap(
    lambda on: st.tuples(*(st.floats(0.1, 20.0) if o else st.just(0.0) for o in on)))


@given(st.sampled_from(steps.METHODS), st.sampled_from(ACTS),
       st.lists(st.integers(1, 6), min_size=1, max_size=3), st.integers(2, 6), gammas,
       st.integers(0, 2 ** 16))
def test_critic_step_with_r1_and_r2(method, act, hidden, N, r1_r2, seed):
    """steps.critic_grads with R1, R2 or both on top of every method's loss, every activation:
    the whole loss against D.grads."""
    r1, r2 = r1_r2
    _ok_or_reject(gc.check_critic_step(method, act, (2, *hidden, 1), N, lam=10.0, seed=seed,
                                       r1=r1, r2=r2))


@given(st.sampled_from(fast.FUSED_METHODS), st.sampled_from(["relu", "leaky_relu"]),
       st.lists(st.integers(1, 6), min_size=1, max_size=3), st.integers(2, 6), gammas,
       st.integers(0, 2 ** 16))
def test_fused_critic_step_with_r1_and_r2(method, act, hidden, N, r1_r2, seed):
    """The fused R1 and R2 (the loss rows seeded with 1, fast.py) against differences too."""
    r1, r2 = r1_r2
    _ok_or_reject(gc.check_critic_step(method, act, (2, *hidden, 1), N, lam=10.0, seed=seed,
                                       fused=True, r1=r1, r2=r2))


@given(st.sampled_from(("wasserstein", "rpgan") + GAN_LOSSES),
       st.sampled_from(SMOOTH + ["relu"]), st.booleans(), st.integers(0, 2 ** 16))
def test_generator_step(loss, act, fused, seed):
    """steps.generator_grads (and the fused one, ReLU): the generator's gradient end to end
    through the critic, for the Wasserstein loss, both GAN losses and RpGAN's (paired with real
    rows), with and without instance noise between them."""
    assume(not fused or act == "relu")
    _ok_or_reject(gc.check_generator_step(loss, act, seed, fused=fused))
    _ok_or_reject(gc.check_generator_step(loss, act, seed, fused=fused, noise=True))


def test_rel_error_is_cs231ns():
    """rel_error = max |a - b| / max(1e-8, |a| + |b|)."""
    assert finitediff.rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert finitediff.rel_error(np.array([1.0]), np.array([3.0])) == pytest.approx(0.5)
    assert finitediff.rel_error(np.array([0.0]), np.array([1e-9])) == pytest.approx(0.1)   # 1e-8 floor


def test_run_all_passes_in_float64():
    """`python -m tinywgan gradcheck`'s table: every row passes, every method and loss has one."""
    rows = gc.run_all(seed=0)
    bad = [r for r in rows if not r["ok"]]
    assert not bad, finitediff.format_table(bad)
    names = " ".join(r["what"] for r in rows)
    for method in steps.METHODS:
        assert "critic step %s (" % method in names
    for loss in ("wasserstein", "rpgan") + GAN_LOSSES:
        assert "generator step (%s loss" % loss in names
    for what in ("penalty (zero-centred: R1, R2)", "gan + R1 10 (relu, fused)",
                 "rpgan + R2 10 (softplus)", "rpgan + R1 10 (relu, fused)",
                 "gan + R2 10 (softplus)", "wgan-gp + R1 10 (relu)"):
        assert what in names, what

