"""The MLP's contract, the losses' numerics, and bad input."""
import numpy as np
import pytest

from tinywgan.core import steps
from tinywgan.core.mlp import MLP, get_activation


def test_parameters_are_views_of_one_flat_buffer():
    net = MLP((2, 5, 3, 1), "tanh", dtype="float64")
    assert net.params.shape == (net.n_params,) == (2 * 5 + 5 + 5 * 3 + 3 + 3 + 1,)
    assert [W.shape for W in net.W] == [(2, 5), (5, 3), (3, 1)]
    assert [b.shape for b in net.b] == [(5,), (3,), (1,)]
    net.params[...] = np.arange(net.n_params)
    assert net.W[0][0, 1] == 1 and net.b[0][0] == 10
    net.W[1][...] = 7.0
    assert np.all(net.params[15:30] == 7.0)
    with pytest.raises(TypeError):
        net.W[0] = np.zeros((2, 5))          # rebinding would break the views: refused


def test_initialisation_follows_he_and_glorot():
    net = MLP((300, 400, 1), "relu", dtype="float64", seed=3)
    assert np.abs(net.W[0]).max() <= np.sqrt(3 * 2 / 300)
    assert np.var(net.W[0]) == pytest.approx(2 / 300, rel=0.02)             # He
    assert np.abs(net.W[1]).max() <= np.sqrt(6 / 401)                        # Glorot
    assert np.all(net.b[0] == 0)


def test_same_seed_same_network_and_float32_by_default():
    a, b = MLP((2, 8, 1), seed=5), MLP((2, 8, 1), seed=5)
    assert a.params.dtype == np.float32 and np.array_equal(a.params, b.params)
    assert not np.array_equal(a.params, MLP((2, 8, 1), seed=6).params)


def test_gradients_accumulate_until_zeroed():
    net = MLP((2, 4, 1), "tanh", dtype="float64")
    x = np.ones((3, 2))
    out, cache = net.forward(x)
    net.backward(np.ones_like(out), cache)
    once = net.grads.copy()
    net.backward(np.ones_like(out), cache)
    assert np.allclose(net.grads, 2 * once)
    net.zero_grad()
    assert not net.grads.any()


def test_backward_can_return_the_gradient_of_every_layers_input():
    """dH[l] = dLoss/dH[l] equals the input gradient of the top layers l..L-1 alone."""
    net = MLP((2, 6, 5, 4, 1), "tanh", dtype="float64", seed=1)
    x = np.random.default_rng(0).normal(size=(7, 2))
    out, cache = net.forward(x)
    dout = np.random.default_rng(1).normal(size=out.shape)
    dH = []
    dx = net.backward(dout, cache, dH=dH)
    assert len(dH) == net.L and np.array_equal(dH[0], dx)
    h = x
    for l in range(net.L):
        top = MLP(net.widths[l:], "tanh", dtype="float64")
        for k in range(top.L):
            top.W[k][...], top.b[k][...] = net.W[l + k], net.b[l + k]
        _, top_cache = top.forward(h)
        assert dH[l].shape == h.shape
        assert np.allclose(dH[l], top.backward(dout, top_cache), rtol=1e-12, atol=1e-14), l
        h = np.tanh(h @ net.W[l] + net.b[l])                 # H[l+1]


def test_penalty_is_finite_when_an_input_gradient_is_exactly_zero():
    net = MLP((2, 4, 1), "relu", dtype="float64")
    net.W[1][...] = 0.0                                  # f is constant: grad_x f = 0 exactly
    x = np.random.default_rng(0).normal(size=(5, 2))
    assert not net.input_gradient(x).any()
    net.zero_grad()
    R, norms = net.gradient_penalty(x, 10.0)
    assert np.isfinite(R) and float(R) == pytest.approx(10.0)                 # (0 - 1)^2
    assert np.all(norms == 0) and np.all(np.isfinite(net.grads))


def test_one_sided_penalty_ignores_small_gradients():
    net = MLP((2, 4, 1), "tanh", dtype="float64")
    x = np.random.default_rng(0).normal(size=(5, 2))
    norms = np.linalg.norm(net.input_gradient(x), axis=1)
    net.zero_grad()
    R, _ = net.gradient_penalty(x, 1.0, target=norms.max() + 1, one_sided=True)
    assert float(R) == 0 and not net.grads.any()
    R, _ = net.gradient_penalty(x, 1.0, target=0.0, one_sided=True)
    assert float(R) == pytest.approx(np.mean(norms ** 2))


def test_gan_losses_are_finite_at_huge_logits():
    big = np.array([[1000.0], [-1000.0]])
    loss, d_real, d_fake = steps.gan_discriminator_loss(big, big)
    assert np.isfinite(loss) and float(loss) == pytest.approx(1000.0)      # (0 + 1000)/2*2
    assert np.all(np.isfinite(d_real)) and np.all(np.isfinite(d_fake))
    for kind in ("minimax", "nonsaturating"):
        loss, d = steps.gan_generator_loss(big, kind)
        assert np.isfinite(loss) and np.all(np.isfinite(d))
    # minimax saturates where D rejects fakes (logit -1000); non-saturating does not
    assert abs(steps.gan_generator_loss(big, "minimax")[1][1, 0]) < 1e-300
    assert steps.gan_generator_loss(big, "nonsaturating")[1][1, 0] == pytest.approx(-0.5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gan_loss_gradients_keep_their_precision_in_the_tails(dtype):
    """dL/dl is sigmoid(+-l)/M, accurate to rounding even where sigmoid is 1e-13 (not 0)."""
    l = np.array([[-30.0], [-17.0], [0.0], [17.0], [30.0]], dtype=dtype)
    exact = 1 / (1 + np.exp(-l.astype(np.float64)))                    # fine in float64 here
    M = l.shape[0]
    _, d_minimax = steps.gan_generator_loss(l, "minimax")
    _, d_nonsat = steps.gan_generator_loss(l, "nonsaturating")
    _, d_real, d_fake = steps.gan_discriminator_loss(l, l)
    rtol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(d_minimax, -exact / M, rtol=rtol)
    np.testing.assert_allclose(d_fake, exact / M, rtol=rtol)
    np.testing.assert_allclose(d_nonsat, -(1 / (1 + np.exp(l.astype(np.float64)))) / M, rtol=rtol)
    np.testing.assert_allclose(d_real, d_nonsat, rtol=0)


def test_wasserstein_losses():
    fr, ff = np.array([[1.0], [3.0]]), np.array([[0.0], [1.0], [2.0]])
    loss, dr, df = steps.wasserstein_critic_loss(fr, ff)
    assert float(loss) == pytest.approx(1.0 - 2.0)
    assert np.allclose(dr, -0.5) and np.allclose(df, 1 / 3)
    loss, df = steps.wasserstein_generator_loss(ff)
    assert float(loss) == pytest.approx(-1.0) and np.allclose(df, -1 / 3)


# ---- bad input --------------------------------------------------------------------------------

def test_wrong_input_width_names_the_expected_shape():
    net = MLP((3, 4, 1))
    with pytest.raises(ValueError, match=r"x must have shape \(N, 3\), got \(5, 2\)"):
        net.forward(np.zeros((5, 2), np.float32))


@pytest.mark.parametrize("shape", [(3,), (2, 3, 1), (0, 3)])
def test_wrong_batch_shapes(shape):
    with pytest.raises(ValueError, match="x must"):
        MLP((3, 4, 1)).forward(np.zeros(shape, np.float32))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input(bad):
    x = np.zeros((4, 2), np.float32)
    x[1, 0] = bad
    with pytest.raises(ValueError, match="x holds NaN or inf"):
        MLP((2, 4, 1)).forward(x)
    with pytest.raises(ValueError, match="NaN or inf"):
        MLP((2, 4, 1)).gradient_penalty(x, 1.0)


def test_wrong_dtype_and_device():
    with pytest.raises(ValueError, match="dtype float64 but the network is float32"):
        MLP((2, 4, 1)).forward(np.zeros((3, 2)))
    with pytest.raises(TypeError, match="device 'strict'"):
        MLP((2, 4, 1), device="strict").forward(np.zeros((3, 2), np.float32))


def test_unknown_activation():
    with pytest.raises(ValueError, match="unknown activation 'relu6'.*'tanh'"):
        MLP((2, 4, 1), "relu6")
    with pytest.raises(ValueError, match="slope"):
        get_activation("leaky_relu:x")


@pytest.mark.parametrize("lam, error", [(-1.0, ValueError), (float("nan"), ValueError),
                                        (float("inf"), ValueError), ("10", TypeError),
                                        (True, TypeError)])
def test_bad_lambda(lam, error):
    """A lam that is not a finite real >= 0 is refused by name (a bool or a string by type)."""
    with pytest.raises(error, match="lam must be a finite number >= 0, got"):
        MLP((2, 4, 1)).gradient_penalty(np.zeros((3, 2), np.float32), lam)


def test_numpy_scalars_are_numbers():
    """np.float32(10) is as good a lam as 10 (a NumPy scalar is a real number)."""
    R, _ = MLP((2, 4, 1)).gradient_penalty(np.ones((3, 2), np.float32), np.float32(10))
    assert np.isfinite(R)


@pytest.mark.parametrize("kw, match", [
    (dict(widths=[2]), "widths must list at least two"),
    (dict(widths=[2, 0, 1]), "widths must list at least two positive ints"),
    (dict(widths=[2, 1], init="xavier"), "init must be one of 'he', 'glorot'"),
    (dict(widths=[2, 1], dtype="float16"), "dtype must be float32"),
    (dict(widths=[2, 1], device="tpu"), "device must be one of"),
    (dict(widths=[2, 1], seed=-1), "seed must be an int >= 0"),
])
def test_bad_constructor_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        MLP(**kw)


@pytest.mark.parametrize("kw, error, match", [
    (dict(dtype="foo"), ValueError, r"dtype must be float32 .*, got 'foo'"),
    (dict(dtype=3), TypeError, r"dtype must be float32 .*, got 3 \(int\)"),
    (dict(dtype=None), TypeError, r"dtype must be float32 .*, got None \(NoneType\)"),
    (dict(dtype=True), TypeError, r"dtype must be float32 .*, got True \(bool\)"),
    (dict(bias="no"), TypeError, r"bias must be True or False, got 'no' \(str\)"),
    (dict(bias=1), TypeError, r"bias must be True or False, got 1 \(int\)"),
])
def test_dtype_and_bias_junk_is_refused(kw, error, match):
    """Before: dtype 'foo' and 3 built a network whose dtype was None (np.dtype compares equal to
    None), dtype None one in float64, and bias 'no' a network with biases."""
    with pytest.raises(error, match=match):
        MLP([2, 3, 1], **kw)


def test_input_gradient_needs_a_scalar_output():
    with pytest.raises(ValueError, match="scalar output"):
        MLP((2, 3, 2)).input_gradient(np.zeros((1, 2), np.float32))


def test_wrong_loss_shapes():
    with pytest.raises(ValueError, match=r"f_fake \(the critic's outputs\) must have shape "
                                         r"\(N, 1\)"):
        steps.wasserstein_critic_loss(np.zeros((3, 1)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="kind must be one of 'nonsaturating', 'minimax'"):
        steps.gan_generator_loss(np.zeros((3, 1)), "wasserstein")


def test_gradcheck_command_prints_a_table_and_passes(capsys):
    from tinywgan.cli import main
    assert main(["gradcheck"]) == 0
    out = capsys.readouterr().out
    assert "penalty tanh: dparams" in out and "FAIL" not in out
    assert "checks passed (float64)" in out


def test_a_network_without_biases_learns_its_weights_alone():
    """bias=False: f = x W (through the activations), P counts the weights, the biases are
    constant zeros an optimizer never sees, and the gradients are still right."""
    from tinywgan.measure.finitediff import numerical_gradient, rel_error
    from tinywgan.core.optim import SGD
    net = MLP([3, 4, 1], "tanh", dtype="float64", bias=False, seed=2)
    assert net.n_params == 3 * 4 + 4 * 1 and "no bias" in repr(net)
    x = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_allclose(net(x), np.tanh(x @ net.W[0]) @ net.W[1], rtol=1e-15)

    def loss():
        return float(net.gradient_penalty(x, 2.0, 0.0)[0] + net(x).sum())
    net.zero_grad()
    net.gradient_penalty(x, 2.0, 0.0)
    net.backward(np.ones((5, 1)), net.forward(x)[1])
    analytic = net.grads.copy()                  # (the differences below add into grads)
    assert rel_error(analytic, numerical_gradient(loss, net.params)) < 1e-8
    SGD(0.1).step(net.params, net.grads)
    assert all(float(abs(b).max()) == 0.0 for b in net.b)
    net.zero_grad()
    assert all(float(abs(db).max()) == 0.0 for db in net.db)
