"""Argument checks, written once: every public function that takes a number, a count or a
choice uses these, so every message reads the same way and says what was expected.

    lam = validate.number("gradient_penalty: lam", lam, low=0)      # a finite real >= 0
    n = validate.count("n", n)                                      # an int >= 1
    method = validate.choice("method", method, METHODS)             # one of a list

A number is a Python or NumPy real (``np.float32(10)`` and ``10`` alike), never a bool (``True``
is an int in Python, and accepting it hides a slip). A wrong type raises TypeError; a value that
is not finite or is out of range raises ValueError. Both name the argument.
"""
import math

import numpy as np


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
