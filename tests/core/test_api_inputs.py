"""The public API checks its inputs: random types, shapes, dtypes and values thrown at every
function a user calls of MLP, losses, lipschitz, optim, metrics and checkpoint end in a result or
in a ValueError or TypeError (CheckpointError is a ValueError) whose message names the argument,
never in another exception and never in a message from inside NumPy or Python."""
import os
import re
import tempfile

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

from tinywgan import MLP, strict, validate
from tinywgan.job import checkpoint
from tinywgan.core import lipschitz, optim, steps
from tinywgan.measure import bounds
from tinywgan.measure import metrics

#: Words of NumPy's and Python's own messages, which a user should never have to decode.
INTERNAL = re.compile(
    r"operands could not be broadcast|matmul|gufunc|could not convert|setting an array element|"
    r"only integer|too many indices|out of bounds|object of type|unsupported operand|"
    r"not subscriptable|has no attribute|truth value|cannot reshape|not understood|ufunc|"
    r"'NoneType' object|not iterable|not callable|unhashable|positional argument|"
    r"expected str, bytes|inhomogeneous|embedded null")

DTYPES = [np.bool_, np.int8, np.int64, np.float16, np.float32, np.float64, np.complex64]
NETS = [MLP([2, 3, 1], seed=0), MLP([2, 3, 1], "tanh", dtype="float64", spectral_norm=True),
        MLP([2, 4, 2], "softplus"), MLP([2, 3, 1], device="strict")]


def arrays(*shapes):
    """NumPy arrays of any of DTYPES, of one of ``shapes`` (None: 0 to 3 rows) or of any small
    shape, with any values (NaN and inf included), and the same on the strict device."""
    def concrete(shape):
        return st.tuples(*[st.integers(0, 3) if n is None else st.just(n) for n in shape])
    shape = st.one_of([concrete(s) for s in shapes] + [hnp.array_shapes(min_dims=0, max_dims=3,
                                                                          min_side=0, max_side=3)])
    host = st.sampled_from(DTYPES).flatmap(lambda dt: hnp.arrays(dt, shape))
    return host | host.map(read_only) | host.map(strict.xp.asarray)


def read_only(a):
    """``a`` with its flags.writeable False (as a view of a read-only buffer would be)."""
    a.flags.writeable = False
    return a


#: Anything at all: what a slip can pass where an array, a number or a name belongs.
anything = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 5), st.floats(), st.text(max_size=3),
    st.lists(st.floats(-2, 2), max_size=3), st.lists(st.lists(st.integers(-2, 2), max_size=2),
                                                       max_size=3),
    st.just({}), st.just(object()), arrays(()))
numbers = st.floats(-2, 20) | st.integers(-1, 4) | anything


def points(d=2):
    return arrays((None, d), (None,)) | anything


def net_cache(net):
    return net.forward(net.xp.asarray(np.ones((2, 2)), dtype=net.dtype))[1]


#: name -> (function, {argument: strategy}). Arguments whose names start with "_" are context
#: (a network to call a method of), not inputs whose names a message must carry.
CALLS = {
    "MLP": (MLP, dict(
        widths=st.lists(st.integers(-1, 4), max_size=4) | anything,
        activation=st.sampled_from(["relu", "tanh", "leaky_relu:0.1", "leaky_relu:x"]) | anything,
        init=st.sampled_from(["he", "glorot"]) | anything,
        dtype=st.sampled_from(["float32", "float16", "foo", np.float64, np.int64]) | anything,
        device=st.sampled_from(["cpu", "strict"]) | anything, seed=st.integers(0, 3) | anything,
        spectral_norm=anything, check_finite=anything,
        bias=st.sampled_from([True, False, "no"]) | anything)),
    "MLP.forward": (lambda _net, x: _net.forward(x), dict(
        _net=st.sampled_from(NETS), x=points())),
    "MLP.backward": (lambda _net, dout, cache, param_grads: _net.backward(dout, cache,
                                                                          param_grads), dict(
        _net=st.sampled_from(NETS), dout=arrays((2, 1), (2, 2)) | anything,
        cache=st.sampled_from(NETS).map(net_cache) | anything, param_grads=anything)),
    "MLP.input_gradient": (lambda _net, x: _net.input_gradient(x), dict(
        _net=st.sampled_from(NETS), x=points())),
    "MLP.gradient_penalty": (lambda _net, x_hat, lam, target, one_sided: _net.gradient_penalty(
        x_hat, lam, target, one_sided), dict(
        _net=st.sampled_from(NETS), x_hat=points(), lam=numbers, target=numbers,
        one_sided=anything)),
    "wasserstein_critic_loss": (steps.wasserstein_critic_loss, dict(
        f_real=arrays((None, 1)) | anything, f_fake=arrays((None, 1)) | anything)),
    "wasserstein_generator_loss": (steps.wasserstein_generator_loss, dict(
        f_fake=arrays((None, 1)) | anything)),
    "gan_discriminator_loss": (steps.gan_discriminator_loss, dict(
        logit_real=arrays((None, 1)) | anything, logit_fake=arrays((None, 1)) | anything)),
    "gan_generator_loss": (steps.gan_generator_loss, dict(
        logit_fake=arrays((None, 1)) | anything,
        kind=st.sampled_from(steps.GAN_LOSSES) | anything)),
    "clip_weights": (lipschitz.clip_weights, dict(params=arrays((None,)) | anything, c=numbers)),
    "clipping_bound": (bounds.clipping_bound, dict(
        widths=st.lists(st.integers(-1, 4), max_size=4) | anything, c=numbers,
        act_lipschitz=numbers)),
    "lipschitz_bound": (bounds.lipschitz_bound, dict(mlp=st.sampled_from(NETS) | anything)),
    "lipschitz_estimate": (bounds.lipschitz_estimate, dict(
        mlp=st.sampled_from(NETS) | anything, x=points())),
    "power_iteration": (lipschitz.power_iteration, dict(
        W=arrays((3, 2)) | anything, u=arrays((3,)) | anything)),
    "optimizers": (lambda name, lr: optim.make_optimizer(name, lr=lr), dict(
        name=st.sampled_from(sorted(optim.OPTIMIZERS)) | anything, lr=numbers)),
    "Adam": (optim.Adam, dict(lr=numbers, betas=st.tuples(numbers, numbers) | anything,
                              eps=numbers)),
    "RMSProp": (optim.RMSProp, dict(lr=numbers, alpha=numbers, eps=numbers)),
    "SGD": (optim.SGD, dict(lr=numbers, momentum=numbers)),
    "Optimizer.step": (lambda params, grads: optim.Adam().step(params, grads), dict(
        params=arrays((4,)) | anything, grads=arrays((4,)) | anything)),
    "Optimizer.load_state_dict": (lambda d, params: optim.Adam().load_state_dict(d, params),
                                  dict(d=st.dictionaries(st.sampled_from(["t", "m", "v", "x"]),
                                                         arrays((4,)) | anything) | anything,
                                       params=arrays((4,)) | st.none())),
    "w1_exact": (metrics.w1_exact, dict(x=points(), y=points())),
    "w1_critic": (metrics.w1_critic, dict(x_real=points(), x_fake=points())),
    "w1_1d": (metrics.w1_1d, dict(x=points(1), y=points(1))),
    "emd_discrete": (metrics.emd_discrete, dict(p=points(1), q=points(1))),
    "kl_divergence": (metrics.kl_divergence, dict(p=points(1), q=points(1))),
    "js_divergence": (metrics.js_divergence, dict(p=points(1), q=points(1))),
    "mode_coverage": (metrics.mode_coverage, dict(
        samples=points(), centres=points(), std=numbers, n_std=numbers)),
    "w1_floor": (metrics.w1_floor, dict(
        name=st.sampled_from(["8gaussians", "25gaussians"]) | anything,
        n=st.integers(-1, 30) | anything, seed=st.integers(-1, 3) | anything)),
    "checkpoint.save": (checkpoint.save, dict(
        path=st.just("TMP/c.npz") | anything,
        arrays=st.dictionaries(st.text(max_size=3), arrays(()) | anything, max_size=3) | anything,
        meta=st.dictionaries(st.text(max_size=3), numbers, max_size=3) | anything)),
    "checkpoint.load": (checkpoint.load, dict(path=st.just("TMP/c.npz") | anything)),
    "checkpoint.check_arrays": (checkpoint.check_arrays, dict(
        arrays=st.dictionaries(st.sampled_from("ab"), arrays((2,)) | anything) | anything,
        expected=st.dictionaries(st.sampled_from("ab"), st.just((2,)) | anything) | anything,
        where=anything)),
}


@pytest.mark.parametrize("name", sorted(CALLS))
@given(data=st.data())
def test_every_public_function_refuses_bad_inputs_by_name(name, data):
    fn, strategies = CALLS[name]
    with tempfile.TemporaryDirectory() as tmp:
        kwargs = {}
        for arg, strategy in strategies.items():
            value = data.draw(strategy, label=arg)
            if arg == "path" and isinstance(value, str) and value:   # only ever inside tmp
                value = os.path.join(tmp, value.replace("TMP/", "").replace(os.sep, "_"))
            kwargs[arg] = value
        if name == "checkpoint.load" and data.draw(st.booleans(), label="file exists"):
            checkpoint.save(os.path.join(tmp, "c.npz"), {"x": np.zeros(2)}, {})
        try:
            fn(**kwargs)
        except (ValueError, TypeError) as e:
            message = str(e)
            names = [a for a in kwargs if not a.startswith("_")] + \
                (["network"] if "_net" in kwargs else [])        # the network called on
            named = [a for a in names if re.search(r"\b%s\b" % re.escape(a), message)]
            assert named, "%s: %s: %s names none of %s" % (name, type(e).__name__, message,
                                                            list(kwargs))
            assert not INTERNAL.search(message), "%s: a message from inside: %s" % (name, message)


def test_integer_critic_outputs_are_refused_not_turned_into_zero_gradients():
    """Before: wasserstein_critic_loss on int64 outputs returned gradients full(-1/N) cast to
    int, i.e. all 0, and training went on silently."""
    f = np.array([[1], [2], [3]])
    for loss, args in ((steps.wasserstein_critic_loss, (f, f.astype(np.float32))),
                       (steps.wasserstein_generator_loss, (f,)),
                       (steps.gan_discriminator_loss, (f, f)),
                       (steps.gan_generator_loss, (f,))):
        with pytest.raises(TypeError, match=r"must be a floating-point array of shape \(N, 1\), "
                                            r"got dtype int64"):
            loss(*args)


def test_float16_is_refused_where_the_contract_says_float32_or_float64():
    """Before: the losses and the optimizers took float16 (any float passed), and the losses'
    gradients came back in float16."""
    h = np.ones((3, 1), np.float16)
    for call, name in ((lambda: steps.wasserstein_critic_loss(h, h), "f_real"),
                       (lambda: steps.wasserstein_generator_loss(h), "f_fake"),
                       (lambda: steps.gan_discriminator_loss(h, h), "logit_real"),
                       (lambda: steps.gan_generator_loss(h), "logit_fake"),
                       (lambda: optim.Adam().step(h[:, 0], h[:, 0]), "params"),
                       (lambda: lipschitz.clip_weights(h[:, 0], 0.1), "params"),
                       (lambda: MLP([1, 2, 1]).forward(h), "x")):
        with pytest.raises(ValueError, match=r"\b%s\b.* dtype float16" % name):
            call()


def test_read_only_arrays_are_refused_where_they_are_written():
    """Before: NumPy's "output array is read-only" from inside the update."""
    net = MLP([2, 3, 1])
    net.params.flags.writeable = False
    opt = optim.Adam()
    with pytest.raises(ValueError, match=r"params \(the model's flat buffer\) is read-only"):
        opt.step(net.params, net.grads)
    with pytest.raises(ValueError, match=r"clip_weights: params is read-only"):
        lipschitz.clip_weights(net.params, 0.01)
    net.params.flags.writeable = True
    opt.step(net.params, net.grads)                 # seen once, then made read-only: still seen
    net.params.flags.writeable = False
    with pytest.raises(ValueError, match=r"params \(the model's flat buffer\) is read-only"):
        opt.step(net.params, net.grads)
    net.grads.flags.writeable = False
    x = np.ones((2, 2), np.float32)
    f, cache = net.forward(x)                       # reading is fine
    for call, where in ((lambda: net.backward(np.ones_like(f), cache), "MLP.backward"),
                        (lambda: net.gradient_penalty(x, 10.0), "gradient penalty"),
                        (net.zero_grad, "MLP.zero_grad")):
        with pytest.raises(ValueError, match="%s: the network's grads is read-only" % where):
            call()
    net.backward(np.ones_like(f), cache, param_grads=False)    # writes no gradient: fine


def test_what_cannot_fit_in_memory_is_refused_by_name_before_it_is_allocated():
    """Before: five calls ended in NumPy's bare MemoryError ("Unable to allocate 3.64 TiB for an
    array with shape (1000005000001,)"): MLP with huge widths, and a huge batch in
    MLP.forward, MLP.input_gradient, MLP.gradient_penalty and steps.critic_grads. Now each
    estimates what it allocates (in the dtype, as the run's memory check does) and refuses it
    first."""
    with pytest.raises(ValueError, match=r"MLP: widths \[2, 1000000, 1000000, 1\] \(params and "
                                         r"grads: 2 x 1000005000001 numbers in float32\) need "
                                         r"about 7\.3 TB of memory but the machine has .*; make "
                                         r"the widths smaller"):
        MLP([2, 10 ** 6, 10 ** 6, 1])
    net = MLP([2, 10 ** 6, 1])                      # 3 million parameters: fits
    x = np.ones((10 ** 6, 2), np.float32)           # a million rows of a million units: no
    for call, where, name, work in ((net.forward, "MLP.forward", "x", 2),
                                    (net.input_gradient, "MLP.input_gradient", "x", 4),
                                    (lambda x: net.gradient_penalty(x, 10.0), "gradient penalty",
                                     "x_hat", 16),
                                    (lambda x: steps.critic_grads(net, x, x, x[:, :1]),
                                     "critic_grads", "x_real", 48)):
        with pytest.raises(ValueError, match=r"%s: %s has 1000000 rows, which need about .* of "
                                             r"memory \(%d arrays of 1000003 numbers per row in "
                                             r"float32\) but the machine has .*; pass fewer rows"
                                             % (where, name, work)):
            call(x)


def test_the_memory_check_reads_the_machine_once_and_compares_with_it(monkeypatch):
    assert validate.memory_bytes() is None or validate.memory_bytes() > 0
    monkeypatch.setattr(validate, "memory_bytes", lambda: 10 ** 6)        # a 1 MB machine
    MLP([2, 100, 1])                                                     # 2.4 KB: fits
    with pytest.raises(ValueError, match=r"MLP: widths \[2, 1000, 1000, 1\] \(params and grads: "
                                         r"2 x 1005001 numbers in float32\) need about 7\.7 MB "
                                         r"of memory but the machine has 976\.6 KB"):
        MLP([2, 1000, 1000, 1])
    net = MLP([2, 100, 1], device="strict")
    net.forward(net.xp.ones((100, 2), dtype=net.dtype))                  # 82 KB: fits
    with pytest.raises(ValueError, match=r"MLP.forward: x has 10000 rows, which need about "
                                         r"7\.9 MB"):
        net.forward(net.xp.ones((10000, 2), dtype=net.dtype))
