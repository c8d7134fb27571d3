"""RpGAN, the relativistic pairing loss (Huang, Gokaslan, Kuleshov and Tompkin 2024): its losses'
gradients against finite differences over gaps far into both tails, its closed form on a linear
critic, what the pairing means (row i with row i), the door that refuses unpaired batches, and
how a user turns it on (Config, the command line). The whole steps' finite-difference checks are
in core/test_gradients.py (every method of steps.METHODS), the fused steps' agreement in
test_fast.py."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

from tinywgan import MLP, fast
from tinywgan.cli import build_parser
from tinywgan.core import steps
from tinywgan.core.mlp import sigmoid, softplus
from tinywgan.job.training import TrainingJob, make_config
from tinywgan.measure.finitediff import compare, numerical_gradient


@given(st.lists(st.tuples(st.floats(-40, 40), st.floats(-40, 40)), min_size=1, max_size=8))
def test_the_losses_gradients_match_differences_in_both_tails(pairs):
    """dL_D/df_real, dL_D/df_fake and dL_G/df_fake against central differences, for gaps
    f_real - f_fake up to +-80, each coordinate at the differences' measured resolution
    (``finitediff.compare``: a tail gradient of 1e-30 is below what any difference of an O(1)
    loss resolves)."""
    f = np.array(pairs, dtype=np.float64)
    f_real, f_fake = f[:, :1].copy(), f[:, 1:].copy()
    _, d_real, d_fake = steps.critic_loss("rpgan", f_real, f_fake)
    _, g_fake = steps.generator_loss("rpgan", f_fake, f_real=f_real)
    for analytic, x, loss in (
            (d_real, f_real, lambda: steps.critic_loss("rpgan", f_real, f_fake)[0]),
            (d_fake, f_fake, lambda: steps.critic_loss("rpgan", f_real, f_fake)[0]),
            (g_fake, f_fake, lambda: steps.generator_loss("rpgan", f_fake, f_real=f_real)[0])):
        row = compare("rpgan", analytic, numerical_gradient(loss, x, return_noise=True))
        assert row["ok"], row


def test_on_a_linear_critic_the_gradient_is_closed_form_and_the_bias_cancels():
    """f(x) = x w + b: d_i = (x_real_i - x_fake_i) w, so b cancels from every gap:
    dL_D/dw = -mean_i sigmoid(-d_i) (x_real_i - x_fake_i), dL_D/db = 0; with r1 = r2 = gamma
    (the paper's (gamma/2)(R1 + R2)) the gradient grows by 2 gamma w, the loss by gamma ||w||^2."""
    w, gamma = np.array([0.6, -1.7]), 3.0
    rng = np.random.default_rng(0)
    x_real, x_fake = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    D = MLP([2, 1], dtype="float64")
    D.W[0][:, 0], D.b[0][...] = w, 0.3
    d = (x_real - x_fake) @ w                                                   # (5,)
    out = steps.critic_grads(D, x_real, x_fake, None, "rpgan")
    assert float(out["critic_loss"]) == pytest.approx(softplus(-d).mean(), rel=1e-14)
    expected = np.r_[-(sigmoid(-d)[:, None] * (x_real - x_fake)).mean(axis=0), 0.0]
    np.testing.assert_allclose(D.grads, expected, atol=1e-15)
    out = steps.critic_grads(D, x_real, x_fake, None, "rpgan", r1=gamma, r2=gamma)
    assert float(out["critic_loss"]) == pytest.approx(softplus(-d).mean() + gamma * w @ w,
                                                      rel=1e-14)
    np.testing.assert_allclose(D.grads, expected + np.r_[2 * gamma * w, 0.0], atol=1e-14)


def test_the_loss_pairs_row_i_with_row_i():
    """Permuting the fake rows alone changes RpGAN's loss (the pairs change) but not the GAN's
    (two separate means); permuting both batches alike changes neither."""
    D = MLP([2, 8, 1], "tanh", dtype="float64", seed=1)
    rng = np.random.default_rng(2)
    x_real, x_fake = rng.normal(size=(6, 2)), rng.normal(size=(6, 2)) + 1
    p = rng.permutation(6)

    def loss(method, xr, xf):
        return float(steps.critic_grads(D, xr, xf, None, method)["critic_loss"])
    base = loss("rpgan", x_real, x_fake)
    assert abs(loss("rpgan", x_real, x_fake[p]) - base) > 1e-3
    assert loss("rpgan", x_real[p], x_fake[p]) == pytest.approx(base, rel=1e-14)
    assert loss("gan", x_real, x_fake[p]) == pytest.approx(loss("gan", x_real, x_fake), rel=1e-14)


def test_unpaired_batches_are_refused_at_every_door():
    """Both batches need the same N (plain and fused critic steps), and the generator step its
    real rows: a one-line error naming the door and the shapes."""
    G = MLP([2, 4, 2], dtype="float64")
    D = MLP([2, 4, 1], dtype="float64")
    x3, x4, z = np.zeros((3, 2)), np.zeros((4, 2)), np.zeros((4, 2))
    for impl in (steps, fast.FusedSteps()):
        with pytest.raises(ValueError, match=r"critic_grads: method 'rpgan' pairs row i .*"
                                             r"\(3, 2\) and x_fake \(4, 2\)"):
            impl.critic_grads(D, x3, x4, None, "rpgan")
        with pytest.raises(ValueError, match="pairs row i of x_real.*got x_real None"):
            impl.generator_grads(G, D, z, "rpgan")
        with pytest.raises(ValueError, match="same number of rows"):
            impl.generator_grads(G, D, z, "rpgan", x_real=x3)
    steps.critic_grads(D, x3, x4, None, "gan")                  # unpaired methods: any N


def test_the_config_and_the_command_line_turn_it_on_with_r1_and_r2():
    """--method rpgan trains with R1 and R2 on (r1 = r2, the paper's one gamma), fused where
    the networks are ReLU; the generator step draws its own paired real rows."""
    cfg = make_config(method="rpgan")
    assert cfg.r1 == cfg.r2 > 0
    assert make_config(method="rpgan", r1=0.0).r1 == 0.0                     # a flag still wins
    assert build_parser().parse_args(["train", "--method", "rpgan"]).method == "rpgan"
    tr = TrainingJob(make_config(method="rpgan", width=8, depth=2, batch=8, iters=2))
    assert tr.step_fns is not steps
    out = tr.step()
    assert float(out["r1"]) > 0 and float(out["r2"]) > 0 and np.isfinite(out["gen_loss"])
