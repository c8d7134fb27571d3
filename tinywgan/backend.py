"""Backend: which array module, which dtype, which random stream.

One idiom throughout tinywgan (as in DeZero and CuPy): an operation looks at the arrays it was
given, ``xp = get_array_module(x)``, and uses ``xp.exp``, ``xp.zeros`` ... from there. Models
know their own ``xp``. Nothing is global, so nothing can be forgotten.

Three devices:

- ``"cpu"``: NumPy;
- ``"gpu"``: CuPy (imported only when asked for; tinywgan runs without it);
- ``"strict"``: the strict test device (``tinywgan.strict``), NumPy arrays that refuse what CuPy
  refuses, so that CI without a GPU breaks wherever a GPU would. Like CuPy it is imported only
  when asked for (or when one of its arrays is seen, which only it can make).

The way back to the host is always explicit: ``to_numpy(x)``.

Dtype policy: float32 for training (fast), float64 for gradient checks (finite differences need
the precision). Every constructor takes ``dtype`` and nothing converts silently.

Random numbers: ``rng(xp, seed, *stream)`` makes a generator on the device, seeded from the run's
seed and a stream key (for example the iteration number). A run that derives its draws for
iteration ``t`` from ``rng(xp, seed, "data", t)`` needs no generator state in its checkpoint:
resuming at ``t`` draws the same numbers, on every device (on a GPU they are NumPy's numbers,
copied over: ``DeviceDraws``).
"""
import sys

import numpy as np

DEVICES = ("cpu", "gpu", "strict")
DTYPES = {"float32": np.float32, "float64": np.float64}


def _cupy():
    try:
        import cupy
    except ImportError as e:
        raise RuntimeError("device 'gpu' needs CuPy, not installed: pip install cupy-cudaXXx "
                           "(the wheel that matches your CUDA; in a clone of tinywgan: pip "
                           "install '.[gpu]')") from e
    return cupy


def _strict():
    """The strict test device's module, imported on first use."""
    from . import strict
    return strict


def is_strict_array(a):
    """Whether ``a`` is a strict-device array (tested without importing the device)."""
    return type(a).__module__ == __package__ + ".strict"


def array_module(device):
    """The array module of a device name: 'cpu' -> numpy, 'gpu' -> cupy, 'strict' -> strict.xp."""
    if device == "cpu":
        return np
    if device == "gpu":
        return _cupy()
    if device == "strict":
        return _strict().xp
    raise ValueError("device must be one of %s, got %r" % (DEVICES, device))


def device_name(xp):
    """The inverse of ``array_module``."""
    if xp is np:
        return "cpu"
    strict = sys.modules.get(__package__ + ".strict")
    if strict is not None and xp is strict.xp:
        return "strict"
    return "gpu"


def get_array_module(*arrays):
    """The array module that owns these arrays (numpy, cupy or the strict device)."""
    for a in arrays:
        if is_strict_array(a):
            return _strict().xp
        if type(a).__module__.startswith("cupy"):
            return _cupy()
    return np


def to_numpy(x):
    """Explicit copy to the host (a no-op for NumPy arrays)."""
    if isinstance(x, np.ndarray):
        return x
    if is_strict_array(x) or type(x).__module__.startswith("cupy"):
        return x.get()
    return np.asarray(x)


def check_dtype(dtype):
    """Return the NumPy dtype for 'float32'/'float64' (or those dtypes); refuse anything else:
    TypeError for what is not a dtype's name or a dtype at all (None, 3), ValueError for another
    dtype or an unknown name. (``np.dtype(None)`` is float64, and a dtype compares equal to None,
    so neither NumPy call can be the test.)"""
    rule = "dtype must be float32 (training) or float64 (gradient checks), got %r" % (dtype,)
    if not isinstance(dtype, (str, type, np.dtype)):
        raise TypeError(rule + " (%s)" % type(dtype).__name__)
    try:
        dt = np.dtype(DTYPES.get(dtype, dtype) if isinstance(dtype, str) else dtype)
    except (TypeError, ValueError):
        dt = None
    if dt is None or dt.type not in (np.float32, np.float64):
        raise ValueError(rule)
    return dt


def rng(xp, seed, *stream):
    """A random generator on ``xp``'s device for (seed, *stream).

    ``stream`` is any tuple of ints or strings (e.g. ``("critic", 17)``) so that independent parts
    of a run draw independent numbers. Use ``.random``, ``.standard_normal`` (both with ``dtype``)
    and ``.integers``: the methods NumPy and CuPy generators share.
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError("seed must be a non-negative int, got %r" % (seed,))
    key = [int(seed)] + [_stream_int(s) for s in stream]
    seed_int = int(np.random.SeedSequence(key).generate_state(2, np.uint32).astype(np.uint64)
                   .dot([1, 2 ** 32]))
    if device_name(xp) == "gpu":
        return DeviceDraws(xp, seed_int)
    return xp.random.default_rng(seed_int)


class DeviceDraws:
    """NumPy's generator for a seed, its draws copied to the GPU (``xp.asarray``).

    CuPy's own ``default_rng`` (XORWOW) draws other numbers from the same seed, so a network
    built on the GPU would start from other weights and a run would draw other batches than on
    the CPU. With NumPy's draws moved to the device, a run is the same on every device and a
    checkpoint moves between them. The copies are small: a batch's z, eps and data points.
    """

    def __init__(self, xp, seed):
        self._xp, self._g = xp, np.random.default_rng(seed)

    def __getattr__(self, name):                  # random, standard_normal, integers, ...
        draw = getattr(self._g, name)

        def on_device(*args, **kwargs):
            out = draw(*args, **kwargs)
            return self._xp.asarray(out) if isinstance(out, np.ndarray) else out
        return on_device


def _stream_int(s):
    """A stream key as a non-negative int (SeedSequence takes ints of any size)."""
    if isinstance(s, str):
        return int.from_bytes(s.encode(), "little")
    if not isinstance(s, (int, np.integer)) or isinstance(s, (bool, np.bool_)) or s < 0:
        raise ValueError("stream keys must be strings or non-negative ints, got %r" % (s,))
    return int(s)
