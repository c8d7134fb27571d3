"""A strict test device: NumPy arrays that behave like CuPy where CuPy is strict.

CI has no GPU, yet every code path must run on one. CuPy refuses two things that NumPy
allows, and both are the usual ways code breaks when moved to a GPU:

1. mixing a host array (``numpy.ndarray``) with a device array in one operation
   (``cupy_x + numpy_y``, ``cupy_x @ numpy_W``, ``cupy_x[numpy_idx] = ...``);
2. converting a device array to a host array silently (``numpy.asarray(cupy_x)``,
   ``numpy.mean(...)`` taking the host path, matplotlib reading device arrays).

``StrictArray`` wraps a NumPy array and refuses both with a ``TypeError`` that says where the
host array came in. ``xp`` below is the matching array module (``xp.zeros``, ``xp.exp``,
``xp.random.default_rng``, ``xp.linalg.norm`` ...): it is to ``StrictArray`` what ``cupy``
is to ``cupy.ndarray``. The way back to the host is explicit, as on CuPy:
``x.get()`` or ``tinywgan.backend.to_numpy(x)``.

Like CuPy, reductions return 0-d arrays (not NumPy scalars), and ``float(x)`` of a 0-d array is
allowed (on a GPU it is a synchronising copy of one number).
"""
import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

_HINT = ("move it explicitly: xp.asarray(host_array) to the device, "
         "tinywgan.backend.to_numpy(device_array) to the host")


class StrictArray(NDArrayOperatorsMixin):
    """A device array of the strict test device. ``self._a`` is the NumPy array it holds."""

    __slots__ = ("_a",)
    __array_priority__ = 100

    def __init__(self, a):
        self._a = a

    # ---- the two refusals ------------------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError("strict device: implicit conversion of a device array to a NumPy array "
                        "is not allowed (CuPy refuses it too); " + _HINT)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        where = "numpy.%s" % ufunc.__name__
        out = kwargs.pop("out", None)
        kwargs = _unwrap(kwargs, where)
        if out is not None:
            kwargs["out"] = tuple(_unwrap(o, where, strict_only=True) for o in out)
        result = getattr(ufunc, method)(*_unwrap(inputs, where), **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        where = "numpy.%s" % func.__name__
        return _wrap(func(*_unwrap(args, where), **_unwrap(kwargs, where)))

    # ---- what an array is ------------------------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    nbytes = property(lambda self: self._a.nbytes)
    T = property(lambda self: StrictArray(self._a.T))

    def get(self):
        """Explicit copy to the host, as ``cupy.ndarray.get()``."""
        return self._a.copy()

    def __getitem__(self, key):
        return _wrap(self._a[_unwrap(key, "indexing")])

    def __setitem__(self, key, value):
        self._a[_unwrap(key, "indexing")] = _unwrap(value, "item assignment")

    def __getattr__(self, name):
        if name.startswith("__"):       # __array_interface__, __array_struct__, __dlpack__ ...
            raise AttributeError(name)  # would hand NumPy the host buffer behind our back
        attr = getattr(self._a, name)
        if not callable(attr):
            return _wrap(attr)

        def method(*args, **kwargs):
            where = "ndarray.%s" % name
            return _wrap(attr(*_unwrap(args, where), **_unwrap(kwargs, where)))
        return method

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (_wrap(row) for row in self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __bool__(self):
        return bool(self._a)

    def __repr__(self):
        return "StrictArray(%r)" % (self._a,)


def _unwrap(obj, where, strict_only=False):
    """StrictArray -> its NumPy array; a plain NumPy array -> TypeError; containers recursively."""
    if isinstance(obj, StrictArray):
        return obj._a
    if isinstance(obj, np.ndarray):
        raise TypeError("strict device: a host NumPy array of shape %s was mixed with device "
                        "arrays in %s (CuPy refuses this); %s" % (obj.shape, where, _HINT))
    if strict_only:
        raise TypeError("strict device: out= in %s must be a device array" % where)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_unwrap(o, where) for o in obj)
    if isinstance(obj, dict):
        return {k: _unwrap(v, where) for k, v in obj.items()}
    return obj


def _wrap(obj):
    """NumPy arrays and NumPy scalars -> StrictArray (0-d for scalars, as CuPy returns)."""
    if isinstance(obj, np.ndarray):
        return StrictArray(obj)
    if isinstance(obj, np.generic) and not isinstance(obj, (np.str_, np.bytes_)):
        return StrictArray(np.asarray(obj))
    if isinstance(obj, tuple):
        return tuple(_wrap(o) for o in obj)
    if isinstance(obj, list):
        return [_wrap(o) for o in obj]
    return obj


class _Namespace:
    """A module-like object: ``xp.name`` is ``numpy.name`` with device arrays in and out."""

    def __init__(self, np_namespace, name, overrides=()):
        self._np = np_namespace
        self.__name__ = name
        self.__dict__.update(dict(overrides))

    def __getattr__(self, name):
        attr = getattr(self._np, name)
        if isinstance(attr, type) or not callable(attr):
            return attr                       # dtypes, constants: shared with NumPy, as in CuPy

        def function(*args, **kwargs):
            where = "%s.%s" % (self.__name__, name)
            return _wrap(attr(*_unwrap(args, where), **_unwrap(kwargs, where)))
        function.__name__ = name
        return function


def _asarray(obj, dtype=None):
    """Host -> device (explicit, allowed, as ``cupy.asarray``); device -> the same device."""
    if isinstance(obj, StrictArray):
        return obj if dtype is None or obj.dtype == dtype else StrictArray(obj._a.astype(dtype))
    return StrictArray(np.array(obj, dtype=dtype))


class _Generator:
    """``xp.random.default_rng(seed)``: a NumPy Generator whose draws land on the device."""

    def __init__(self, seed):
        self._g = np.random.default_rng(seed)

    def __getattr__(self, name):
        attr = getattr(self._g, name)

        def draw(*args, **kwargs):
            return _wrap(attr(*_unwrap(args, "random." + name), **_unwrap(kwargs, "random." + name)))
        return draw


def asnumpy(x):
    """Device -> host, as ``cupy.asnumpy``."""
    return x.get() if isinstance(x, StrictArray) else np.asarray(x)


#: The strict device's array module, used where code would use ``cupy``.
xp = _Namespace(np, "strict", overrides={
    "ndarray": StrictArray,
    "asarray": _asarray,
    "array": lambda obj, dtype=None: _asarray(obj, dtype).copy(),
    "asnumpy": asnumpy,
    "random": _Namespace(np.random, "strict.random", overrides={"default_rng": _Generator}),
    "linalg": _Namespace(np.linalg, "strict.linalg"),
})

