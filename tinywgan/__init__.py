"""tinywgan: Wasserstein GANs from scratch in NumPy/CuPy, every gradient derived by hand.

Start with ``tinywgan.mlp.MLP`` (forward, the backward recurrence, the input gradient), then
``tinywgan.penalty`` (the gradient penalty's double backward, derived), ``tinywgan.steps`` (each
training step once) and ``tinywgan.gradcheck`` (the answer key); ``python -m tinywgan --help``
for the commands.
"""
from .backend import array_module, get_array_module, to_numpy
from .layers import get_activation
from .mlp import MLP

__version__ = "0.1.0"
__all__ = ["MLP", "array_module", "get_activation", "get_array_module", "to_numpy"]
