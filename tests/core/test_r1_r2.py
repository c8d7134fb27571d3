"""The zero-centred penalties R1 and R2 (Mescheder, Geiger and Nowozin 2018): their values and
gradients in closed form on a linear critic, what each adds to a step, and how a user turns
them on (Config, the command line). Their finite-difference checks are in core/test_gradients.py,
the fused ones' agreement with the plain ones in test_fast.py."""
import numpy as np
import pytest

from tinywgan import MLP
from tinywgan.core import steps
from tinywgan.cli import build_parser, main
from tinywgan.job.training import TrainingJob, make_config


def _linear_critic(w, b):
    """f(x) = x w + b, a critic with no hidden layer: grad_x f = w at every point."""
    D = MLP([len(w), 1], dtype="float64")
    D.W[0][:, 0] = w
    D.b[0][...] = b
    return D


@pytest.mark.parametrize("method", ["gan", "wgan-gp"])
def test_on_a_linear_critic_r1_is_gamma_half_w_squared_and_its_gradient_gamma_w(method):
    """grad_x f = w everywhere, so R1 = R2 = (gamma/2) ||w||^2, dR/dw = gamma w, dR/db = 0:
    the step's gradient grows by exactly gamma w, its loss by (gamma/2) ||w||^2."""
    w, gamma = np.array([0.6, -1.7]), 3.0
    rng = np.random.default_rng(0)
    x_real, x_fake, eps = rng.normal(size=(5, 2)), rng.normal(size=(5, 2)), rng.random((5, 1))
    D = _linear_critic(w, 0.3)
    plain = steps.critic_grads(D, x_real, x_fake, eps, method, 1.0)
    grads = D.grads.copy()                                              # (W: 2, b: 1)
    for name, gammas in (("r1", dict(r1=gamma)), ("r2", dict(r2=gamma))):
        out = steps.critic_grads(D, x_real, x_fake, eps, method, 1.0, **gammas)
        assert float(out[name]) == pytest.approx(gamma / 2 * w @ w, rel=1e-14)
        assert float(out["critic_loss"]) == pytest.approx(float(plain["critic_loss"])
                                                          + gamma / 2 * w @ w, rel=1e-14)
        np.testing.assert_allclose(D.grads - grads, np.r_[gamma * w, 0.0], atol=1e-14)
    both = steps.critic_grads(D, x_real, x_fake, eps, method, 1.0, r1=gamma, r2=2 * gamma)
    np.testing.assert_allclose(D.grads - grads, np.r_[3 * gamma * w, 0.0], atol=1e-14)
    assert float(both["r2"]) == pytest.approx(2 * float(both["r1"]), rel=1e-14)


def test_r1_is_measured_at_the_real_points_and_r2_at_the_generated_ones():
    """On a curved critic the two differ, and each equals (gamma/2) mean ||grad_x f||^2 at its
    own points (the library's input gradient)."""
    D = MLP([2, 8, 1], "tanh", dtype="float64", seed=1)
    rng = np.random.default_rng(2)
    x_real, x_fake = rng.normal(size=(6, 2)), rng.normal(size=(6, 2)) + 2
    out = steps.critic_grads(D, x_real, x_fake, None, "gan", r1=4.0, r2=4.0)
    for name, x in (("r1", x_real), ("r2", x_fake)):
        g = D.input_gradient(x)                                                 # (6, 2)
        assert float(out[name]) == pytest.approx(2.0 * (g * g).sum(axis=1).mean(), rel=1e-13)
    assert abs(float(out["r1"]) - float(out["r2"])) > 1e-3


def test_off_by_default_and_refused_when_negative():
    D = MLP([2, 4, 1], dtype="float64")
    x = np.zeros((3, 2))
    out = steps.critic_grads(D, x, x, None, "gan")
    assert "r1" not in out and "r2" not in out
    with pytest.raises(ValueError, match="critic_grads: r1"):
        steps.critic_grads(D, x, x, None, "gan", r1=-1.0)
    with pytest.raises(TypeError, match="critic_grads: r2"):
        steps.critic_grads(D, x, x, None, "gan", r2="10")
    with pytest.raises(ValueError, match="r2"):
        make_config(r2=-0.5)


def test_the_command_line_and_the_config_turn_them_on(tmp_path):
    args = build_parser().parse_args(["train", "--method", "gan", "--r1", "10", "--r2", "0.5"])
    assert (args.r1, args.r2) == (10.0, 0.5)
    tr = TrainingJob(make_config(method="gan", r1=10.0, width=8, depth=2, batch=8, iters=3))
    out = tr.step()
    assert float(out["r1"]) > 0 and "r2" not in out
    assert main(["train", "--method", "gan", "--r1", "10", "--iters", "3", "--width", "8",
                 "--eval-n", "100", "--log-every", "1", "--quiet", "--no-figure",
                 "--out", str(tmp_path / "run")]) == 0
    history = (tmp_path / "run" / "history.jsonl").read_text()
    assert '"r1"' in history
