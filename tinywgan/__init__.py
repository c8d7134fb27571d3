"""tinywgan: Wasserstein GANs from scratch in NumPy/CuPy, every gradient derived by hand.

Start with ``tinywgan.mlp.MLP`` (forward, the backward recurrence, the input gradient), then
``tinywgan.penalty`` (the gradient penalty's double backward, derived), ``tinywgan.steps`` (each
training step once) and ``tinywgan.gradcheck`` (the answer key); ``python -m tinywgan --help``
for the commands.

The names below load their module on first use (PEP 562), so ``from tinywgan import lesson``
does not load NumPy: a lesson sets the BLAS thread count before NumPy reads it.
"""
import importlib

__version__ = "0.1.0"
__all__ = ["MLP", "array_module", "get_activation", "get_array_module", "to_numpy"]
_HOME = {"MLP": "mlp", "array_module": "backend", "get_activation": "layers",
         "get_array_module": "backend", "to_numpy": "backend"}


def __getattr__(name):
    if name not in _HOME:
        raise AttributeError("module 'tinywgan' has no attribute %r" % name)
    return getattr(importlib.import_module("." + _HOME[name], __name__), name)
