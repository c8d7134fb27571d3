r"""Planted mistakes: classic WGAN and WGAN-GP bugs, made on copies of the library's pieces, never
as flags inside the library, so that a check can be shown to catch each one.

``dropped_second_order(act)``: the activation ``act`` (tanh, sigmoid, softplus, SiLU) with its
s'' path dropped from the gradient penalty's weight gradient, the bug of from-scratch WGAN-GP
implementations (the numpy-ml library's among them): it declares ``second_order = False``, so
``tinywgan.penalty`` skips step (4), the s'' injections. Every first-order check still passes;
the penalty's weight gradient is wrong (the hidden biases get none at all).
"""
import copy

from .layers import get_activation


def dropped_second_order(act):
    """A copy of the activation ``act`` (a name or an Activation) that pretends s'' = 0."""
    broken = copy.copy(get_activation(act))
    broken.second_order = False
    broken.name = "%s without s''" % broken.name
    return broken
