"""The fused steps (tinywgan.fast.FusedSteps) against the plain ones (tinywgan.core.steps).

The two implementations share their signatures, so the same networks and the same inputs go
into both and their losses and gradients must agree: float64, 1e-12 relative (the fused products
only sum in another order). Then whole training iterations through the Trainer, which chooses
between them. Adam divides by sqrt(v), so a gradient element that is ~0 turns a rounding
difference into a relative one; the multi-iteration checks therefore use SGD for the tight
tolerance and Adam at a looser one.
"""
import numpy as np
import pytest

from tinywgan import MLP, backend, fast
from tinywgan.core import steps
from tinywgan.job.training import TrainingJob, make_config


def _rel(a, b):
    """Largest difference relative to the larger array's scale."""
    a, b = backend.to_numpy(a), backend.to_numpy(b)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), np.abs(a).max(), 1e-300))


def _assert_same_numbers(out_fast, out_plain, tol, what):
    assert sorted(out_fast) == sorted(out_plain), (what, sorted(out_fast), sorted(out_plain))
    for k in out_plain:
        a, b = float(out_fast[k]), float(out_plain[k])
        scale = max(abs(a), abs(b), 1e-3)          # losses near 0: compare on a 1e-3 scale
        assert abs(a - b) <= tol * scale, "%s: %s fast %r plain %r (tol %g)" % (what, k, a, b, tol)


def _nets(device, act, d=2, latent=3, width=16, seed=3):
    """A generator, a critic (biases drawn, not zero), and twins with the same parameters."""
    nets = []
    for _ in range(2):
        G = MLP([latent, width, width, d], act, dtype="float64", device=device, seed=seed)
        D = MLP([d, width, width, 1], act, dtype="float64", device=device, seed=seed + 1)
        rng = backend.rng(G.xp, seed, "biases")
        for net in (G, D):
            for b in net.b:
                b[...] = rng.standard_normal(b.shape, dtype=np.float64) * 0.3
        nets += [G, D]
    return nets


@pytest.mark.parametrize("r1,r2", [(0.0, 0.0), (3.0, 0.0), (0.0, 2.0), (3.0, 2.0)])
@pytest.mark.parametrize("act", ["relu", "leaky_relu"])
@pytest.mark.parametrize("method", fast.FUSED_METHODS)
def test_the_fused_functions_give_the_plain_functions_numbers(device, act, method, r1, r2):
    """Same inputs into both implementations: same loss, same D.grads, same G.grads; with R1
    and R2 (the fused ones seed the loss rows with 1) too."""
    G, D, G2, D2 = _nets(device, act)
    rng = backend.rng(G.xp, 0, "inputs")
    x_real = rng.standard_normal((8, 2), dtype=np.float64)                   # (B, d)
    z = rng.standard_normal((8, 3), dtype=np.float64)                        # (B, latent)
    eps = rng.random((8, 1), dtype=np.float64)
    fused = fast.FusedSteps()
    x_fake = fused.generate(G, z)
    assert _rel(x_fake, steps.generate(G2, z)) <= 1e-12
    out_f = fused.critic_grads(D, x_real, x_fake, eps, method, 3.0, r1, r2)
    out_p = steps.critic_grads(D2, x_real, steps.generate(G2, z), eps, method, 3.0, r1, r2)
    _assert_same_numbers(out_f, out_p, 1e-12, "critic %s" % method)
    assert _rel(D.grads, D2.grads) <= 1e-12, "critic %s: D.grads" % method
    noise = rng.standard_normal((8, 2), dtype=np.float64)                    # instance noise
    for gan_loss, added in (("nonsaturating", None), ("minimax", None), ("nonsaturating", noise)):
        out_f = fused.generator_grads(G, D, z, method, gan_loss, added, x_real)
        out_p = steps.generator_grads(G2, D2, z, method, gan_loss, added, x_real)
        _assert_same_numbers(out_f, out_p, 1e-12, "generator %s" % method)
        assert _rel(G.grads, G2.grads) <= 1e-12, "generator %s: G.grads" % method


def test_the_fused_steps_refuse_what_they_do_not_compute():
    """A smooth activation or spectral norm needs the plain steps: refused, not computed wrong."""
    G, D, _, _ = _nets("cpu", "tanh")
    x = np.zeros((4, 2))
    with pytest.raises(ValueError, match="use tinywgan.core.steps"):
        fast.FusedSteps().critic_grads(D, x, x, np.zeros((4, 1)), "wgan-gp", 1.0)
    with pytest.raises(ValueError, match="use tinywgan.core.steps"):
        fast.FusedSteps().critic_grads(MLP([2, 4, 1], spectral_norm=True, dtype="float64"), x,
                                       x, None, "wgan-sn", 1.0)


def _pair(device, dtype="float64", **kw):
    fields = dict(width=16, depth=3, batch=8, latent=2, dtype=dtype, device=device, seed=3)
    fields.update(kw)
    return (TrainingJob(make_config(None, fast=True, **fields)),
            TrainingJob(make_config(None, fast=False, **fields)))


def _assert_close(fast_tr, plain_tr, out_fast, out_plain, tol, what):
    _assert_same_numbers(out_fast, out_plain, tol, what)
    for net in ("D", "G"):
        for buf in ("params", "grads"):
            err = _rel(getattr(getattr(fast_tr, net), buf), getattr(getattr(plain_tr, net), buf))
            assert err <= tol, "%s: %s.%s relative error %.2e > %g" % (what, net, buf, err, tol)


@pytest.mark.parametrize("act,method,r1", [
    ("relu", "wgan-gp", 0.0), ("leaky_relu", "wgan-gp", 0.0), ("relu", "wgan-lp", 0.0),
    ("relu", "gan", 0.0), ("relu", "gan", 5.0), ("leaky_relu", "wgan", 5.0),
    ("relu", "rpgan", 5.0)])
def test_full_iterations_agree(device, act, method, r1):
    f, p = _pair(device, activation=act, method=method, optimizer="sgd", lr_d=1e-2, lr_g=1e-2,
                 r1=r1)
    assert f.step_fns is not steps and p.step_fns is steps
    for t in range(3):
        _assert_close(f, p, f.step(), p.step(), 1e-10, "iteration %d" % t)


def test_adam_and_clipping_iterations_agree():
    for method, tol in (("wgan-gp", 1e-8), ("wgan", 1e-6)):     # Adam; RMSProp + clipping
        f, p = _pair("cpu", method=method)
        for t in range(3):
            _assert_close(f, p, f.step(), p.step(), tol, "%s iteration %d" % (method, t))


@pytest.mark.parametrize("act", ["relu", "leaky_relu:0.1"])
def test_float32_agrees(device, act):
    f, p = _pair(device, dtype="float32", activation=act, width=32, batch=16, optimizer="sgd")
    for t in range(2):
        _assert_close(f, p, f.step(), p.step(), 1e-5, "float32 iteration %d" % t)


def test_the_trainer_chooses_the_fused_steps_only_where_they_apply():
    for kw, fused in ((dict(), True), (dict(activation="leaky_relu"), True),
                      (dict(method="wgan"), True), (dict(method="gan"), True),
                      (dict(method="wgan-lp"), True), (dict(method="rpgan"), True),
                      (dict(activation="tanh"), False), (dict(activation="softplus"), False),
                      (dict(method="wgan-sn"), False), (dict(fast=False), False)):
        tr = TrainingJob(make_config(None, **dict(dict(width=8, depth=2, batch=4, n_critic=2),
                                                  **kw)))
        assert (tr.step_fns is not steps) is fused, kw
        assert ("fused" in tr.describe_steps()) is fused
        tr.step()


def test_buffers_are_made_once_and_steps_do_not_allocate_them():
    f, _ = _pair("cpu", dtype="float32")
    f.step()
    made = {k: [id(a) for a in b.H + b.mask + b.dA] for k, b in f.step_fns._buffers.items()}
    f.step()
    assert {k: [id(a) for a in b.H + b.mask + b.dA] for k, b in f.step_fns._buffers.items()} == made


@pytest.mark.parametrize("depth,width,batch,latent", [(1, 7, 5, 3), (4, 9, 3, 1)])
def test_other_shapes_agree(depth, width, batch, latent):
    f, p = _pair("strict", depth=depth, width=width, batch=batch, latent=latent,
                 activation="leaky_relu", optimizer="sgd", n_critic=2)
    for t in range(2):
        _assert_close(f, p, f.step(), p.step(), 1e-10, "depth %d iteration %d" % (depth, t))


@pytest.mark.parametrize("method", ["wgan-gp", "wgan", "gan"])
def test_digits_64_d_agree(device, method):
    """The 64-pixel digits: the buffers take their widths from the networks, so the stacked
    inputs are (R, 64) and the fused steps give the plain steps' numbers."""
    pytest.importorskip("sklearn")
    f, p = _pair(device, dataset="digits", method=method, latent=5, optimizer="sgd",
                 lr_d=1e-2, lr_g=1e-2)
    assert f.step_fns is not steps and p.step_fns is steps
    for t in range(3):
        _assert_close(f, p, f.step(), p.step(), 1e-10, "digits %s iteration %d" % (method, t))
    critic = f.step_fns.buffers("critic", f.D, (3 if method == "wgan-gp" else 2) * 8)
    assert critic.H[0].shape[1] == 64
