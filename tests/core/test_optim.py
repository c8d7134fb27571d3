"""The update rules against plain reference implementations, in place, and resumable exactly.

The references below allocate freely and use the textbook equations (Adam with explicit bias
corrections, not the folded form of ``tinywgan.core.optim``), in float64. The two differ by rounding
only, and rounding errors are bounded by the sizes of the numbers rounded (the running error
bound of forward error analysis): each p_k <- p_{k-1} + delta_k rounds relative to |p_k|, and
each delta_k carries a few unit roundoffs u of the run's dtype relative to the same recursion
run on |g| (a momentum that cancels, beta m + (1 - beta) g ~ 0, still rounds at the size of its
terms). So after T steps the two agree within

    8 u (sum_k |p_k| + |ref(0, |g_1|, ..., |g_T|)|)

the second term being the reference run from 0 on the gradients' absolute values: every step at
its uncancelled size, all of one sign. Measured over 60 000 random cases the largest error was
2.3 u times that sum; an update rule with a wrong term is off by a fraction of a step.
"""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tinywgan import backend
from tinywgan.core.optim import SGD, Adam, RMSProp, make_optimizer

fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


# ---- plain references ----------------------------------------------------------------------
def ref_sgd(p, grads, lr, momentum=0.0):
    v = np.zeros_like(p)
    for g in grads:
        v = momentum * v - lr * g
        p = p + v
    return p


def ref_rmsprop(p, grads, lr, alpha, eps):
    ms = np.zeros_like(p)
    for g in grads:
        ms = alpha * ms + (1 - alpha) * g ** 2
        p = p - lr * g / (np.sqrt(ms) + eps)
    return p


def ref_adam(p, grads, lr, betas, eps):
    (b1, b2), m, v = betas, np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


RULES = {
    "sgd": (lambda h: SGD(h["lr"], h["momentum"]),
            lambda p, gs, h: ref_sgd(p, gs, h["lr"], h["momentum"])),
    "rmsprop": (lambda h: RMSProp(h["lr"], h["beta2"], h["eps"]),
                lambda p, gs, h: ref_rmsprop(p, gs, h["lr"], h["beta2"], h["eps"])),
    "adam": (lambda h: Adam(h["lr"], (h["momentum"], h["beta2"]), h["eps"]),
             lambda p, gs, h: ref_adam(p, gs, h["lr"], (h["momentum"], h["beta2"]), h["eps"])),
}

hypers = st.fixed_dictionaries({
    "lr": st.floats(1e-5, 1.0),
    "momentum": st.sampled_from([0.0, 0.5, 0.9]),     # SGD's momentum, Adam's beta1
    "beta2": st.sampled_from([0.0, 0.9, 0.99, 0.999]),  # RMSProp's alpha, Adam's beta2
    "eps": st.sampled_from([1e-8, 1e-3]),
})


def _run(opt, xp, p0, grads, dtype):
    params = xp.asarray(p0.astype(dtype))
    for g in grads:
        opt.step(params, xp.asarray(g.astype(dtype)))
    return backend.to_numpy(params)


@fixture_ok
@given(rule=st.sampled_from(sorted(RULES)), h=hypers, P=st.integers(1, 40),
       steps=st.integers(1, 6), dtype=st.sampled_from(["float64", "float32"]),
       seed=st.integers(0, 2 ** 16))
def test_rule_matches_reference(device, rule, h, P, steps, dtype, seed):
    xp, (make, ref) = backend.array_module(device), RULES[rule]
    rng = np.random.default_rng(seed)
    p0 = rng.standard_normal(P)
    grads = [rng.standard_normal(P) * 10.0 ** rng.uniform(-3, 1) for _ in range(steps)]
    got = _run(make(h), xp, p0, grads, dtype)
    p0_, grads_ = p0.astype(dtype).astype(np.float64), [g.astype(dtype).astype(np.float64)
                                                        for g in grads]
    path = [ref(p0_, grads_[:k], h) for k in range(steps + 1)]          # p_0 .. p_T, (P,) each
    steps_size = np.abs(ref(np.zeros(P), [np.abs(g) for g in grads_], h))
    bound = 8 * np.finfo(dtype).eps / 2 * (sum(np.abs(p) for p in path) + steps_size)
    assert got.dtype == np.dtype(dtype)
    err = np.abs(got - path[-1])
    assert np.all(err <= bound), "%s %s after %d steps, %r: error %.3g > bound %.3g at %d" % (
        rule, dtype, steps, h, err.max(), bound[np.argmax(err - bound)], np.argmax(err - bound))


def test_first_steps_have_the_textbook_size():
    """Sanity checks that do not share code with the references above."""
    g = np.array([3.0, -0.02, 1e3])
    p = np.zeros(3)
    Adam(lr=0.1, eps=1e-12).step(p, g)              # Adam's first step is lr * sign(g)
    np.testing.assert_allclose(p, -0.1 * np.sign(g), rtol=1e-9)
    p = np.zeros(3)
    RMSProp(lr=0.1, alpha=0.9, eps=1e-12).step(p, g)    # lr / sqrt(1 - alpha) * sign(g)
    np.testing.assert_allclose(p, -0.1 / math.sqrt(0.1) * np.sign(g), rtol=1e-9)
    p = np.zeros(3)
    SGD(lr=0.1).step(p, g)
    np.testing.assert_allclose(p, -0.1 * g, rtol=1e-12)


@pytest.mark.parametrize("name", ["sgd", "rmsprop", "adam"])
def test_step_is_in_place_and_views_see_it(device, name):
    xp = backend.array_module(device)
    buf = xp.asarray(np.linspace(-1, 1, 12, dtype=np.float32))
    params, W = buf, buf[:6].reshape(2, 3)      # a model's flat buffer and a layer's view
    grads = xp.asarray(np.full(12, 0.5, dtype=np.float32))
    before = backend.to_numpy(params).copy()
    opt = make_optimizer(name, lr=0.1, momentum=0.9) if name == "sgd" else \
        make_optimizer(name, lr=0.1)
    for _ in range(2):
        opt.step(params, grads)
    assert params is buf
    after = backend.to_numpy(params)
    assert np.all(after < before), "descent on a positive gradient must decrease every entry"
    np.testing.assert_array_equal(backend.to_numpy(W), after[:6].reshape(2, 3))


@pytest.mark.parametrize("name,hyper", [
    ("sgd", dict(lr=0.05)), ("sgd", dict(lr=0.05, momentum=0.9)),
    ("rmsprop", dict(lr=0.01)), ("adam", dict(lr=0.01))])
def test_state_dict_round_trip_is_bit_identical(device, name, hyper):
    xp = backend.array_module(device)
    rng = np.random.default_rng(0)
    grads = [xp.asarray(rng.standard_normal(50).astype(np.float32)) for _ in range(8)]
    p_a = xp.asarray(rng.standard_normal(50).astype(np.float32))
    a = make_optimizer(name, **hyper)
    assert a.state_dict() == {"t": 0}
    for g in grads[:4]:
        a.step(p_a, g)
    d = a.state_dict()
    assert d["t"] == 4 and isinstance(d["t"], int)
    for k, v in d.items():
        if k != "t":
            assert backend.get_array_module(v) is xp, "state must stay on the device"
            v *= 0.0                            # the dict holds copies: this must not leak

    b = make_optimizer(name, **hyper)
    b.load_state_dict(a.state_dict())
    p_b = p_a.copy()
    for g in grads[4:]:
        a.step(p_a, g)
        b.step(p_b, g)
    np.testing.assert_array_equal(backend.to_numpy(p_b), backend.to_numpy(p_a))
    assert b.t == a.t == 8


def test_state_loads_from_host_arrays_onto_the_device():
    """A checkpoint gives host arrays; the next step moves them to the params' device."""
    xp = backend.array_module("strict")
    a = Adam(lr=0.01)
    p = xp.asarray(np.ones(5, dtype=np.float32))
    a.step(p, xp.asarray(np.full(5, 2.0, dtype=np.float32)))
    host = {k: (v if k == "t" else backend.to_numpy(v)) for k, v in a.state_dict().items()}
    b = Adam(lr=0.01)
    b.load_state_dict(dict(host, t=np.array(1)))        # t as a 0-d array, as from a file
    q = p.copy()
    g = xp.asarray(np.full(5, -1.0, dtype=np.float32))
    a.step(p, g)
    b.step(q, g)                                         # strict: no host array may leak in
    np.testing.assert_array_equal(backend.to_numpy(q), backend.to_numpy(p))


@pytest.mark.parametrize("name", ["adam", "rmsprop", "sgd"])
def test_minimises_an_ill_conditioned_quadratic(device, name):
    """f(p) = 1/2 sum_i a_i (p_i - c_i)^2, curvatures a from 0.1 to 10."""
    xp = backend.array_module(device)
    a = xp.asarray(np.logspace(-1, 1, 20))
    c = xp.asarray(np.linspace(-2, 2, 20))
    p, grads = xp.zeros(20), xp.zeros(20)
    hyper = {"adam": dict(lr=0.05), "rmsprop": dict(lr=0.01),
             "sgd": dict(lr=0.05, momentum=0.9)}[name]
    opt = make_optimizer(name, **hyper)
    start = float(xp.linalg.norm(p - c))
    for _ in range(1500):
        xp.subtract(p, c, out=grads)
        grads *= a                              # grad f = a * (p - c)
        opt.step(p, grads)
    assert float(xp.linalg.norm(p - c)) < 2e-2 * start


@pytest.mark.parametrize("make,arg", [
    (lambda: SGD(lr=0.0), "lr"), (lambda: SGD(lr=-1e-3), "lr"),
    (lambda: SGD(lr=float("nan")), "lr"), (lambda: SGD(lr=float("inf")), "lr"),
    (lambda: SGD(lr="0.1"), "lr"),
    (lambda: SGD(lr=0.1, momentum=1.0), "momentum"),
    (lambda: SGD(lr=0.1, momentum=-0.1), "momentum"),
    (lambda: RMSProp(alpha=1.0), "alpha"), (lambda: RMSProp(eps=0.0), "eps"),
    (lambda: Adam(betas=(1.0, 0.9)), "betas[0]"), (lambda: Adam(betas=(0.5, -0.1)), "betas[1]"),
    (lambda: Adam(betas=0.9), "betas"), (lambda: Adam(eps=-1e-8), "eps"),
    (lambda: Adam(lr=True), "lr"),
])
def test_bad_hyperparameters_name_the_argument(make, arg):
    """Out of range: ValueError; not a number at all (a string, a bool): TypeError; both name
    the argument first."""
    with pytest.raises((ValueError, TypeError)) as e:
        make()
    assert str(e.value).startswith(arg + " "), str(e.value)


def test_make_optimizer():
    opt = make_optimizer("Adam", lr=2e-4, betas=(0.0, 0.99))
    assert isinstance(opt, Adam) and opt.lr == 2e-4 and opt.betas == (0.0, 0.99)
    assert isinstance(make_optimizer("rmsprop"), RMSProp)
    assert make_optimizer("sgd", lr=1.0, momentum=0.5).momentum == 0.5
    with pytest.raises(ValueError, match="name must be one of .*adam.*got 'lbfgs'"):
        make_optimizer("lbfgs")
    with pytest.raises(TypeError, match="momentum"):
        make_optimizer("adam", momentum=0.9)


def test_step_checks_its_arguments():
    opt = Adam()
    f32 = np.zeros(4, dtype=np.float32)
    for params, grads, error, match in [
        (np.zeros((2, 2), np.float32), np.zeros((2, 2), np.float32), ValueError,
         r"params .* must have shape \(N,\), got \(2, 2\)"),
        (f32, np.zeros(5, np.float32), ValueError, r"grads must have shape \(4,\)"),
        (f32, np.zeros(4, np.float64), ValueError, "grads has dtype float64 where float32"),
        (np.zeros(4, np.int64), np.zeros(4, np.int64), TypeError, "floating-point"),
        ([0.0] * 4, f32, TypeError, "params .* got list"),
    ]:
        with pytest.raises(error, match=match):
            opt.step(params, grads)
    strict_xp = backend.array_module("strict")
    with pytest.raises(TypeError, match="grads is on another device"):
        opt.step(f32, strict_xp.zeros(4, dtype=np.float32))
    opt.step(f32, f32.copy())
    with pytest.raises(ValueError, match="one optimizer per parameter vector"):
        opt.step(np.zeros(3, np.float32), np.zeros(3, np.float32))


def test_load_state_dict_validates():
    a = Adam()
    p = np.zeros(4, np.float32)
    a.step(p, np.ones(4, np.float32))
    good = a.state_dict()
    with pytest.raises(ValueError, match=r"missing \['v'\]"):
        Adam().load_state_dict({"t": 1, "m": good["m"]})
    with pytest.raises(ValueError, match=r"unexpected \['ms'\]"):
        Adam().load_state_dict(dict(good, ms=good["m"]))
    with pytest.raises(ValueError, match="'t'"):
        Adam().load_state_dict({"m": good["m"], "v": good["v"]})
    with pytest.raises(ValueError, match="int >= 0"):
        Adam().load_state_dict(dict(good, t=1.5))
    with pytest.raises(ValueError, match=r"d\['v'\] must be a 1-D array"):
        Adam().load_state_dict(dict(good, v=np.zeros((2, 2), np.float32)))
    b = Adam()
    b.load_state_dict(good)
    for wrong in [np.zeros(6, np.float32), np.zeros(4, np.float64)]:
        with pytest.raises(ValueError, match="state saved with this model"):
            b.step(wrong, wrong.copy())
    q, g = p.copy(), np.array([1.0, -2.0, 0.5, 3.0], np.float32)
    b.step(q, g)                                # the failed steps changed nothing
    a.step(p, g)
    np.testing.assert_array_equal(q, p)
    assert b.t == a.t == 2
    c = SGD(lr=0.1)                             # no momentum: no arrays, only the counter
    c.load_state_dict({"t": 3})
    assert c.state_dict() == {"t": 3}
    with pytest.raises(ValueError, match="unexpected"):
        c.load_state_dict({"t": 3, "v": good["m"]})
