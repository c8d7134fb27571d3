"""Argument checks, written once, used at the doors: the public functions, the Config and the
command line check what a user gives them with these, so every message reads the same way and
says what was expected; the inner calls of a step do not check again (``tinywgan.core``).

    lam = validate.number("gradient_penalty: lam", lam, low=0)      # a finite real >= 0
    n = validate.count("n", n)                                      # an int >= 1
    method = validate.choice("method", method, METHODS)             # one of a list
    validate.array("dout", dout, shape=(N, 1), dtype=net.dtype)     # a float array (N, 1)
    x = validate.host_array("x", x)                                 # finite numbers, host float64

A number is a Python or NumPy real (``np.float32(10)`` and ``10`` alike), never a bool (``True``
is an int in Python, and accepting it hides a slip). A wrong type raises TypeError; a value that
is not finite or is out of range raises ValueError. Both name the argument.

Arrays: ``array`` reads only an array's type, dtype and shape, never its values, so a door that
a training step passes every time (the MLP's forward, a step function, an optimizer) checks
without a device sync; whether the numbers are finite is checked where it is free (``host_array``, for the
host-side metrics; ``MLP(check_finite=True)`` on its inputs) and by the trainer on its losses.
Integer arrays are refused, not cast: an integer critic output would give all-zero gradients;
so are float16 (tinywgan computes in float32 or float64) and, where an array is written in
place, a read-only one.

Memory: what a call would allocate (an MLP's parameters, a batch's activations) is estimated from
shapes alone and refused when it exceeds the machine's memory (``memory``, ``net_memory``), with
a message naming the argument, before NumPy's bare MemoryError.
"""
import functools
import inspect
import math
import os

import numpy as np

from .backend import DTYPES, is_strict_array, get_array_module, to_numpy

#: The dtypes tinywgan computes in (``backend.DTYPES``): float16 and longdouble are refused.
FLOATS = tuple(np.dtype(d) for d in DTYPES.values())


def _is_real(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and \
        not isinstance(value, (bool, np.bool_))


def number(name, value, low=-math.inf, high=math.inf, low_open=False, high_open=False):
    """``float(value)``, if ``value`` is a finite real number in the range; else an error naming
    ``name``. ``low``/``high`` are inclusive unless ``low_open``/``high_open``."""
    rule = _rule(low, high, low_open, high_open)
    if not _is_real(value):
        raise TypeError("%s must be %s, got %r (%s)" % (name, rule, value, type(value).__name__))
    x = float(value)
    if not math.isfinite(x) or x < low or x > high or (low_open and x == low) \
            or (high_open and x == high):
        raise ValueError("%s must be %s, got %r" % (name, rule, value))
    return x


def count(name, value, low=1):
    """``int(value)``, if ``value`` is a Python or NumPy integer (not a bool) >= ``low``."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
        raise TypeError("%s must be an int >= %d, got %r (%s)"
                        % (name, low, value, type(value).__name__))
    if value < low:
        raise ValueError("%s must be an int >= %d, got %r" % (name, low, value))
    return int(value)


def widths(name, value):
    """``value`` as a list of ints, if it is a list or tuple of at least two ints >= 1 (layer
    widths: input, hidden..., output)."""
    if not isinstance(value, (list, tuple)) or len(value) < 2 or not all(
            isinstance(w, (int, np.integer)) and not isinstance(w, (bool, np.bool_)) and w >= 1
            for w in value):
        raise ValueError("%s must list at least two positive ints (input and output width), "
                         "got %r" % (name, value))
    return [int(w) for w in value]


def choice(name, value, choices):
    """``value`` if it is one of ``choices``; else a ValueError listing them."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError("%s must be one of %s, got %r" % (name, ", ".join(map(repr, choices)),
                                                          value))
    return value


def _rule(low, high, low_open, high_open):
    """'a finite number > 0', 'a number in [0, 1)', ..."""
    if low > -math.inf and high < math.inf:
        return "a number in %s%g, %g%s" % ("(" if low_open else "[", low, high,
                                          ")" if high_open else "]")
    if low > -math.inf:
        return "a finite number %s %g" % (">" if low_open else ">=", low)
    if high < math.inf:
        return "a finite number %s %g" % ("<" if high_open else "<=", high)
    return "a finite number"


def flag(name, value):
    """``value`` if it is a bool (Python or NumPy); else a TypeError naming ``name``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError("%s must be True or False, got %r (%s)"
                        % (name, value, type(value).__name__))
    return bool(value)


def array(name, x, shape=None, dtype=None, like=None, written=False):
    """``x`` itself, if it is a float32 or float64 array (NumPy, CuPy or the strict device's)
    that fits: ``shape`` a tuple of sizes and names (``(None, 2)`` is "(N, 2)": None matches any
    size >= 1), ``dtype`` the exact dtype wanted, ``like`` an array ``x`` must share a device
    with, ``written``: ``x`` is updated in place, so it must be writable (``writable``). Else
    TypeError (not an array, not floating point, another device) or ValueError (float16 or
    another float dtype, the shape, an empty array, a read-only array), naming ``name``.

    Only attributes are read (no values): no device sync, cheap enough for every step.
    """
    xp = get_array_module(x)

    def want():                                     # formatted only when something is wrong
        return "a floating-point array" + ("" if shape is None else " of shape %s" % _shape(shape))
    if not isinstance(x, xp.ndarray):
        raise TypeError("%s must be %s, got %s" % (name, want(), type(x).__name__))
    if x.dtype.kind != "f":
        raise TypeError("%s must be %s, got dtype %s; convert it with .astype(np.float32) (or "
                        "float64)" % (name, want(), x.dtype))
    if x.dtype not in FLOATS:
        raise ValueError("%s has dtype %s; tinywgan computes in float32 (training) or float64 "
                         "(gradient checks): convert it with .astype(np.float32)" % (name, x.dtype))
    if like is not None and get_array_module(like) is not xp:
        raise TypeError("%s is on another device than the arrays it is used with; move it "
                        "explicitly (xp.asarray, backend.to_numpy)" % name)
    if dtype is not None and x.dtype != dtype:
        raise ValueError("%s has dtype %s where %s is expected; convert it with .astype(...)"
                         % (name, x.dtype, np.dtype(dtype)))
    if shape is not None and (x.ndim != len(shape) or any(
            n == 0 or (want_n is not None and n != want_n) for n, want_n in zip(x.shape, shape))):
        raise ValueError("%s must have shape %s, got %s" % (name, _shape(shape), tuple(x.shape)))
    if x.size == 0:
        raise ValueError("%s must not be empty, got shape %s" % (name, tuple(x.shape)))
    if written:
        writable(name, x)
    return x


def writable(name, x):
    """Refuse a read-only array (NumPy's ``x.flags.writeable`` False: a view of a buffer, an
    array set so) where tinywgan writes into it in place, before NumPy's "output array is
    read-only" from the middle of an update. (CuPy's arrays are always writable.)"""
    if not getattr(getattr(x, "flags", None), "writeable", True):
        raise ValueError("%s is read-only (its flags.writeable is False) but is updated in "
                         "place; make it writable again (flags.writeable = True) or pass a "
                         "writable copy (x.copy())" % name)


def host_array(name, x):
    """``x`` (a host or device array, a list or a number) as a host float64 NumPy array of
    finite real numbers; else TypeError (not numbers) or ValueError (ragged, NaN or inf)."""
    if is_strict_array(x) or type(x).__module__.startswith("cupy"):
        x = to_numpy(x)
    if not isinstance(x, (np.ndarray, list, tuple, int, float, np.number)) or \
            isinstance(x, (bool, np.bool_)):
        raise TypeError("%s must be an array of real numbers, got %s" % (name, type(x).__name__))
    try:
        a = np.asarray(x)
    except ValueError:
        raise ValueError("%s must be a rectangular array of numbers (lists of equal lengths)"
                         % name) from None
    if a.dtype.kind not in "iuf":
        raise TypeError("%s must hold real numbers, got dtype %s" % (name, a.dtype))
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise ValueError("%s holds NaN or inf" % name)
    return a


def _shape(shape):
    """(None, 2) -> '(N, 2)'; (None,) -> '(N,)'."""
    names = iter("NMK")
    sizes = [str(n) if n is not None else next(names) for n in shape]
    return "(%s)" % (sizes[0] + "," if len(sizes) == 1 else ", ".join(sizes))


# ---- a network's inputs, at the MLP's doors (tinywgan.core.mlp) --------------------------------

def net_input(where, net, x, name="x", work=2):
    """``x`` must be an array (N, d_0), N >= 1, of ``net``'s device and dtype, whose rows fit in
    memory (``net_memory``, ``work`` arrays per row), and finite if ``net.check_finite``; else
    an error naming ``where`` and ``name``."""
    if not isinstance(x, net.xp.ndarray):
        raise TypeError("%s: %s must be an array of device %r (%s), got %s; move it with "
                        "xp.asarray(x)" % (where, name, net.device, net.xp.__name__,
                                           type(x).__name__))
    if x.ndim != 2 or x.shape[1] != net.widths[0]:
        raise ValueError("%s: %s must have shape (N, %d), got %s"
                         % (where, name, net.widths[0], tuple(x.shape)))
    if x.shape[0] == 0:
        raise ValueError("%s: %s must hold at least one row, got shape %s"
                         % (where, name, tuple(x.shape)))
    if x.dtype != net.dtype:
        raise ValueError("%s: %s has dtype %s but the network is %s; convert with "
                         "x.astype(...)" % (where, name, x.dtype, net.dtype))
    net_memory(where, net, x, name, work)
    if net.check_finite and not bool(net.xp.isfinite(x).all()):
        raise ValueError("%s: %s holds NaN or inf" % (where, name))


def net_memory(where, net, x, name="x", work=2):
    """Refuse a batch whose rows cannot fit: ``x``'s N rows (if it is an array) times ``work``
    arrays of sum(net.widths) numbers per row (a forward keeps 2, H and A; the penalty's double
    backward about 16, the estimate ``train`` makes for a step: 48 per layer for 3 batches), in
    the network's dtype, against ``memory_bytes()``. Host devices only: on a GPU CuPy refuses
    itself (OutOfMemoryError). A ValueError naming ``where`` and ``name``, before NumPy's bare
    MemoryError from the middle of the pass."""
    if net.device == "gpu" or getattr(x, "ndim", 0) < 1:
        return
    need = int(x.shape[0]) * sum(net.widths) * work * net.dtype.itemsize
    have = memory_bytes()
    if have is not None and need > have:
        raise ValueError("%s: %s has %d rows, which need about %s of memory (%d arrays of %d "
                         "numbers per row in %s) but the machine has %s; pass fewer rows at a "
                         "time" % (where, name, x.shape[0], size_text(need), work,
                                   sum(net.widths), net.dtype, size_text(have)))


def memory(where, what, need, hint):
    """Refuse ``need`` bytes (for ``what``) that exceed ``memory_bytes()``: a ValueError naming
    ``where`` and ending in ``hint``, before NumPy's bare MemoryError."""
    have = memory_bytes()
    if have is not None and need > have:
        raise ValueError("%s: %s need about %s of memory but the machine has %s; %s"
                         % (where, what, size_text(need), size_text(have), hint))


def params_memory(widths, n_params, n_W, n_b, dtype, spectral_norm, bias):
    """An MLP's buffers: params and grads (n_params each), W / sigma and its gradient under
    spectral norm (n_W each), the constant biases and their spare gradient without bias (n_b)."""
    sn = ", and W / sigma with its gradient" if spectral_norm else ""
    memory("MLP", "widths %s (params and grads: 2 x %d numbers in %s%s)"
           % (widths, n_params, dtype, sn),
           (2 * n_params + (2 * n_W if spectral_norm else 0) + (0 if bias else 2 * n_b))
           * dtype.itemsize, "make the widths smaller")


@functools.lru_cache(maxsize=1)
def memory_bytes():
    """The machine's memory in bytes (the smaller of the physical memory and a cgroup limit),
    or None where it cannot be read; read once. (The run's memory check,
    ``tinywgan.job.preflight``, reads it here too.)"""
    try:
        have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None
    for limit in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(limit) as f:
                have = min(have, int(f.read().strip()))
        except (OSError, ValueError):       # absent, or "max"
            pass
    return have


def size_text(n):
    """1536 -> '1.5 KB'."""
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return ("%d %s" if unit == "bytes" else "%.1f %s") % (n, unit)
        n /= 1024


def net_cache(where, net, cache):
    """The rows N of a ``Cache(H, A)`` from ``net``'s forward; else a TypeError naming it."""
    H, A = getattr(cache, "H", None), getattr(cache, "A", None)
    ok = type(cache).__name__ == "Cache" and isinstance(H, list) and isinstance(A, list) \
        and len(H) == len(A) == net.L
    if ok:
        shapes = [getattr(h, "shape", None) for h in H + A]
        N = shapes[0][0] if shapes[0] else None
        ok = shapes == [(N, w) for w in net.widths[:-1] + net.widths[1:]]
    if not ok:
        raise TypeError("%s: cache must be the Cache(H, A) that this network's forward "
                        "returned (%s), got %s" % (where, net, type(cache).__name__))
    return N


def critic(where, net):
    """Refuse a network without a scalar output where a critic f(x) is needed."""
    if net.widths[-1] != 1:
        raise ValueError("%s needs a critic, a network with a scalar output; this one's last "
                         "width is %d" % (where, net.widths[-1]))


# ---- the MLP's doors (tinywgan.core.mlp) ---------------------------------------------------------

def mlp_args(layer_widths, act, init, last_init, spectral_norm, check_finite, bias, seed):
    """``MLP(...)``'s arguments; a GroupSort ``act`` needs hidden widths that are multiples of its
    group size. Returns (widths, spectral_norm, check_finite, bias) normalised."""
    layer_widths = widths("widths", layer_widths)
    for name, value in (("init", init), ("last_init", last_init)):
        choice(name, value, ("he", "glorot"))
    flags = [flag(name, value) for name, value in (("spectral_norm", spectral_norm),
                                                   ("check_finite", check_finite),
                                                   ("bias", bias))]
    count("seed", seed, low=0)
    if any(w % getattr(act, "k", 1) for w in layer_widths[1:-1]):
        raise ValueError("widths %s: GroupSort sorts groups of %d units; make every hidden "
                         "width a multiple of %d" % (layer_widths, act.k, act.k))
    return (layer_widths, *flags)


def backward_args(where, net, dout, cache, param_grads, dH):
    """``MLP.backward``'s: dout (N, d_L) for a cache of N rows from this net, a writable grads
    buffer if param_grads, dH None or a list. Returns param_grads as a bool."""
    N = net_cache(where, net, cache)
    array(where + ": dout", dout, shape=(N, net.widths[-1]), dtype=net.dtype, like=net.params)
    param_grads = flag(where + ": param_grads", param_grads)
    if param_grads:
        writable(where + ": the network's grads", net.grads)
    if dH is not None and not isinstance(dH, list):
        raise TypeError("%s: dH must be None or a list to fill, got %s"
                        % (where, type(dH).__name__))
    return param_grads


def penalty_args(where, net, x_hat, lam, target, one_sided):
    """``MLP.gradient_penalty``'s: a critic, lam and target >= 0, a flag, x_hat its input."""
    critic(where, net)
    number(where + ": lam", lam, low=0)
    number(where + ": target", target, low=0)
    flag(where + ": one_sided", one_sided)
    net_input(where, net, x_hat, "x_hat", work=16)
    writable(where + ": the network's grads", net.grads)


# ---- the optimizers' doors (tinywgan.core.optim) -----------------------------------------------

def positive(name, value):
    """A finite real > 0 (a learning rate, an eps)."""
    return number(name, value, low=0, low_open=True)


def fraction(name, value):
    """A real in [0, 1) (a momentum, a decay rate)."""
    return number(name, value, low=0, high=1, high_open=True)


def betas(value):
    """Adam's (beta1, beta2), each in [0, 1)."""
    try:
        b1, b2 = value
    except (TypeError, ValueError):
        raise ValueError("betas must be a pair (beta1, beta2), got %r" % (value,)) from None
    return fraction("betas[0]", b1), fraction("betas[1]", b2)


def param_buffers(params, grads):
    """An optimizer's two buffers, cheaply (no values read): 1-D float, one shape, dtype, device."""
    array("params (the model's flat buffer)", params, shape=(None,), written=True)
    array("grads", grads, shape=params.shape, dtype=params.dtype, like=params)


# ---- an optimizer's saved state, at load_state_dict (tinywgan.core.optim) ----------------------

def state_like(where, name, a, params):
    """An optimizer's state array ``a`` (loaded, or made for other params) must have the shape
    and dtype of the params it will step."""
    if a.shape != params.shape or a.dtype != params.dtype:
        raise ValueError("%s: its state %r is %s %s but params are %s %s; use one optimizer per "
                         "parameter vector, and load the state saved with this model (same "
                         "widths and dtype)"
                         % (where, name, a.shape, a.dtype, params.shape, params.dtype))


def optimizer_state(where, d, names, squares, params=None):
    """An optimizer's ``state_dict`` to load: a dict holding "t" and, when t > 0, exactly the 1-D
    arrays ``names`` (those in ``squares`` averages of squares, >= 0), of ``params``' shape and
    dtype if it is given. Returns (t, the set of array names)."""
    if not isinstance(d, dict):
        raise TypeError("%s.load_state_dict: d must be the dict state_dict() returned, got %s"
                        % (where, type(d).__name__))
    t = step_counter(d.get("t", None))
    expected = set(names) if t > 0 else set()
    missing, unexpected = sorted(expected - set(d)), sorted(set(d) - expected - {"t"})
    if missing or unexpected:
        raise ValueError("%s.load_state_dict: d is missing %s, has unexpected %s (t = %d); "
                         "with t > 0 it holds exactly %s. Was it saved by another optimizer?"
                         % (where, missing, unexpected, t, ["t"] + list(names)))
    for k in expected:
        if getattr(d[k], "ndim", None) != 1:
            raise ValueError("%s.load_state_dict: d[%r] must be a 1-D array, got %r"
                             % (where, k, getattr(d[k], "shape", d[k])))
    if params is not None:
        array("%s.load_state_dict: params" % where, params, shape=(None,))
        for k in expected:
            state_like(where, k, d[k], params)
    for k in expected & set(squares):
        if bool((d[k] < 0).any()):
            raise ValueError("%s.load_state_dict: d[%r] holds negative numbers; it is an average "
                             "of squared gradients, >= 0: the state was altered" % (where, k))
    return t, expected


def name_in(where, name, names):
    """A name from the dict ``names``, in any case: returns its key."""
    if not isinstance(name, str):
        raise TypeError("%s must be a string, one of %s, got %r" % (where, sorted(names), name))
    if name.lower() not in names:
        raise ValueError("%s must be one of %s (any case), got %r" % (where, sorted(names), name))
    return name.lower()


def keywords(cls, given):
    """The keyword arguments ``given`` must all be parameters of ``cls``'s constructor."""
    known = list(inspect.signature(cls).parameters)
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise TypeError("%s takes the hyperparameters %s, not %s" % (cls.__name__, known, unknown))


#: The largest step counter a state dict may hold: 2^53, beyond which a float (Adam's beta^t)
#: no longer tells consecutive counts apart; any real run is far below it.
STEP_MAX = 1 << 53


def step_counter(t):
    """The step counter of a state dict as an int: an int, a NumPy signed integer or a 0-d
    signed integer array, in [0, STEP_MAX]; else a ValueError."""
    if t is None:
        raise ValueError("d has no step counter d['t']; pass what state_dict() returned")
    ok = not isinstance(t, (bool, np.bool_))
    if ok and hasattr(t, "dtype"):
        ok = t.ndim == 0 and t.dtype.kind == "i"
    elif ok:
        ok = isinstance(t, int)
    if not ok or not 0 <= int(t) <= STEP_MAX:
        raise ValueError("the step counter d['t'] must be an int >= 0 and <= 2^53, of a "
                         "signed integer type, got %r%s"
                         % (t, " (%s)" % t.dtype if hasattr(t, "dtype") else ""))
    return int(t)
