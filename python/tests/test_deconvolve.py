"""faltung.deconvolve against scipy.signal.deconvolve."""

import numpy as np
import pytest
import scipy.signal as ss

import faltung
from conftest import assert_matches


@pytest.mark.parametrize("n, d", [(1, 1), (5, 1), (5, 2), (40, 7), (300, 25), (2000, 300)])
def test_quotient_and_remainder_match_scipy(rng, n, d):
    # A divisor whose inverse filter is stable (sum of |a[k]| below a[0]), so the quotient
    # stays finite however long the signal.
    divisor = rng.uniform(-1.0, 1.0, d) * 0.9 / d
    divisor[0] = 1.0
    signal = rng.standard_normal(n)
    q, r = faltung.deconvolve(signal, divisor)
    sq, sr = ss.deconvolve(signal, divisor)
    assert_matches(q, sq)
    # The remainder is rounding noise where the quotient fits exactly: compare it on the
    # scale of the signal, not of itself.
    assert r.dtype == sr.dtype and r.shape == sr.shape
    assert np.abs(r - sr).max() <= 1e-10 * np.abs(signal).max()


def test_an_exact_product_divides_back_with_zero_remainder(rng):
    quotient = rng.standard_normal(500)
    divisor = np.array([2.0, -0.5, 0.25, 0.1])
    signal = np.convolve(divisor, quotient)
    q, r = faltung.deconvolve(signal, divisor)
    np.testing.assert_allclose(q, quotient, rtol=0, atol=1e-12 * np.abs(quotient).max())
    assert np.abs(r).max() <= 1e-12 * np.abs(signal).max()
    # signal = convolve(divisor, quotient) + remainder, whatever the division leaves.
    signal = rng.standard_normal(600)
    q, r = faltung.deconvolve(signal, divisor)
    np.testing.assert_allclose(np.convolve(divisor, q) + r, signal, rtol=0, atol=1e-12)


def test_scipy_documentation_example():
    original = [0, 1, 0, 0, 1, 1, 0, 0]
    impulse_response = [2, 1]
    recorded = ss.convolve(impulse_response, original)
    q, r = faltung.deconvolve(recorded, impulse_response)
    np.testing.assert_array_equal(q, [0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0])
    np.testing.assert_array_equal(r, np.zeros(9))


def test_inputs_follow_scipy(rng):
    # Lists, integers and float32 give float64, as scipy's lfilter path does.
    for signal, divisor in [([1, 3, 2], [1, 1]), (np.float32([1, 3, 2]), np.float32([1, 1]))]:
        q, r = faltung.deconvolve(signal, divisor)
        sq, sr = ss.deconvolve(signal, divisor)
        assert q.dtype == sq.dtype == np.float64 and r.dtype == sr.dtype
        np.testing.assert_allclose(q, sq, rtol=1e-12)
        np.testing.assert_allclose(r, sr, atol=1e-12)
    # A scalar is one sample.
    q, r = faltung.deconvolve(5.0, [2.0])
    np.testing.assert_array_equal(q, [2.5])
    np.testing.assert_array_equal(r, [0.0])
    # A divisor longer than the signal: no quotient, the signal itself as the remainder.
    q, r = faltung.deconvolve([1, 3, 2], [1, 1, 1, 1])
    sq, sr = ss.deconvolve([1, 3, 2], [1, 1, 1, 1])
    assert list(q) == list(sq) == []
    np.testing.assert_array_equal(r, sr)
    # Strided views work without the caller copying.
    x = rng.standard_normal(200)
    d = np.array([2.0, 9.0, 0.3, 9.0, -0.2])[::2]
    q, r = faltung.deconvolve(x[::-2], d)
    sq, sr = ss.deconvolve(x[::-2], d)
    assert_matches(q, sq)
    assert np.abs(r - sr).max() <= 1e-10 * np.abs(x).max()


def test_bad_inputs_raise_value_error_naming_the_argument():
    with pytest.raises(ValueError, match="signal must be non-empty 1d"):
        faltung.deconvolve([], [1.0])
    with pytest.raises(ValueError, match="divisor must be non-empty 1d"):
        faltung.deconvolve([1.0, 2.0], np.ones((2, 2)))
    with pytest.raises(ValueError, match="divisor.*first coefficient"):
        faltung.deconvolve([1.0, 2.0, 3.0], [0.0, 1.0])
    with pytest.raises(TypeError, match="signal: complex"):
        faltung.deconvolve([1j, 2.0, 3.0], [1.0, 1.0])
