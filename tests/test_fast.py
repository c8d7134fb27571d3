"""The fast path (tinywgan.fast) against the plain path (Trainer.critic_step / generator_step).

Two Trainers with the same configuration, one with ``fast=True`` and one with ``fast=False``,
take the same steps from the same draws; their losses, gradients and parameters must agree.
float64: 1e-12 relative (the fused products only sum in another order). Adam divides by
sqrt(v), so a gradient element that is ~0 turns a rounding difference into a relative one; the
multi-iteration checks therefore use SGD for the tight tolerance and Adam at a looser one.
"""
import numpy as np
import pytest

from tinywgan import backend, fast
from tinywgan.train import Trainer, make_config


def _pair(device, dtype="float64", **kw):
    fields = dict(width=16, depth=3, batch=8, latent=2, dtype=dtype, device=device, seed=3)
    fields.update(kw)
    return (Trainer(make_config(None, fast=True, **fields)),
            Trainer(make_config(None, fast=False, **fields)))


def _rel(a, b):
    """Largest difference relative to the larger array's scale."""
    a, b = backend.to_numpy(a), backend.to_numpy(b)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), np.abs(a).max(), 1e-300))


def _assert_close(fast_tr, plain_tr, out_fast, out_plain, tol, what):
    assert sorted(out_fast) == sorted(out_plain), (what, sorted(out_fast), sorted(out_plain))
    for k in out_plain:
        a, b = float(out_fast[k]), float(out_plain[k])
        scale = max(abs(a), abs(b), 1e-3)          # losses near 0: compare on a 1e-3 scale
        assert abs(a - b) <= tol * scale, "%s: %s fast %r plain %r (tol %g)" % (what, k, a, b, tol)
    for net in ("D", "G"):
        for buf in ("params", "grads"):
            err = _rel(getattr(getattr(fast_tr, net), buf), getattr(getattr(plain_tr, net), buf))
            assert err <= tol, "%s: %s.%s relative error %.2e > %g" % (what, net, buf, err, tol)


@pytest.mark.parametrize("act", ["relu", "leaky_relu"])
def test_one_critic_and_generator_step_agree(device, act):
    f, p = _pair(device, activation=act, optimizer="sgd")
    _assert_close(f, p, f.critic_step(0, 0), p.critic_step(0, 0), 1e-12, "critic step")
    _assert_close(f, p, f.generator_step(0), p.generator_step(0), 1e-12, "generator step")


@pytest.mark.parametrize("act,method", [("relu", "wgan-gp"), ("leaky_relu", "wgan-gp"),
                                        ("relu", "gan")])
def test_full_iterations_agree(device, act, method):
    f, p = _pair(device, activation=act, method=method, optimizer="sgd", lr_d=1e-2, lr_g=1e-2)
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


def test_fast_path_is_taken_only_where_it_applies(monkeypatch):
    calls = []
    real_c, real_g = fast.critic_step, fast.generator_step
    monkeypatch.setattr(fast, "critic_step", lambda *a: calls.append("c") or real_c(*a))
    monkeypatch.setattr(fast, "generator_step", lambda *a: calls.append("g") or real_g(*a))
    for kw, taken in ((dict(), True), (dict(activation="leaky_relu"), True),
                      (dict(method="wgan"), True), (dict(method="gan"), True),
                      (dict(activation="tanh"), False), (dict(activation="softplus"), False),
                      (dict(method="wgan-sn"), False), (dict(fast=False), False)):
        calls.clear()
        cfg = make_config(None, **dict(dict(width=8, depth=2, batch=4, n_critic=2), **kw))
        tr = Trainer(cfg)
        assert fast.applies(tr) is taken, kw
        tr.step()
        assert calls == (["c", "c", "g"] if taken else []), (kw, calls)


def test_workspace_is_made_once_and_steps_do_not_allocate_buffers():
    f, _ = _pair("cpu", dtype="float32")
    f.step()
    ws = fast.workspace(f)
    ids = [id(a) for a in ws.H + ws.S + ws.Dl]
    f.step()
    assert fast.workspace(f) is ws and [id(a) for a in ws.H + ws.S + ws.Dl] == ids


@pytest.mark.parametrize("depth,width,batch,latent", [(1, 7, 5, 3), (4, 9, 3, 1)])
def test_other_shapes_agree(depth, width, batch, latent):
    f, p = _pair("strict", depth=depth, width=width, batch=batch, latent=latent,
                 activation="leaky_relu", optimizer="sgd", n_critic=2)
    for t in range(2):
        _assert_close(f, p, f.step(), p.step(), 1e-10, "depth %d iteration %d" % (depth, t))


@pytest.mark.parametrize("method", ["wgan-gp", "wgan", "gan"])
def test_digits_64_d_agree(device, method):
    """The 64-pixel digits: the Workspace takes its widths from the networks, so the stacked
    inputs are (R, 64) and the fused steps give the plain path's numbers."""
    pytest.importorskip("sklearn")
    f, p = _pair(device, dataset="digits", method=method, latent=5, optimizer="sgd",
                 lr_d=1e-2, lr_g=1e-2)
    assert fast.applies(f) and not fast.applies(p)
    for t in range(3):
        _assert_close(f, p, f.step(), p.step(), 1e-10, "digits %s iteration %d" % (method, t))
    ws = fast.workspace(f)
    rows = 3 * 8 if method == "wgan-gp" else 2 * 8
    assert ws.H[0].shape == (rows, 64) and ws.x_gen.shape == (8, 64)
