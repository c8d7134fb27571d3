"""The finite differences themselves: one stencil of each order, the same in numerical_gradient
(one coordinate at a time) and in elementwise_derivative (a whole array at once), of the order
it claims."""
import numpy as np
import pytest

from tinywgan.measure import finitediff


def test_each_stencil_is_defined_once_with_its_textbook_weights():
    assert finitediff._taps(2) == ((1, 0.5), (-1, -0.5))
    assert finitediff._taps(4) == ((1, 8 / 12), (-1, -8 / 12), (2, -1 / 12), (-2, 1 / 12))
    with pytest.raises(ValueError, match="order"):
        finitediff.elementwise_derivative(np.sin, np.zeros(3), order=3)


@pytest.mark.parametrize("order", [2, 4])
def test_the_array_at_once_and_one_coordinate_at_a_time_agree(order):
    """For an elementwise f, shifting the whole array differences every coordinate alone."""
    a = np.random.default_rng(0).uniform(-3, 3, size=(4, 5))
    whole = finitediff.elementwise_derivative(np.tanh, a, h=1e-3, order=order)
    one_by_one = finitediff.numerical_gradient(lambda: np.tanh(a).sum(), a, h=1e-3, order=order)
    assert whole.shape == a.shape
    np.testing.assert_allclose(whole, one_by_one, rtol=1e-9, atol=1e-11)


def test_the_fourth_order_stencil_is_of_fourth_order():
    """Halving h divides the error of sin' by about 2^4 (and the two-point one's by 2^2)."""
    a = np.array([0.3, 1.1, 2.0])
    for order, factor in ((2, 4), (4, 16)):
        err = [np.abs(finitediff.elementwise_derivative(np.sin, a, h, order) - np.cos(a)).max()
               for h in (0.1, 0.05)]
        assert err[0] / err[1] == pytest.approx(factor, rel=0.05), (order, err)
