"""savgol_filter, savgol_coeffs, convolve1d, gaussian_filter1d against scipy."""

import numpy as np
import pytest
import scipy.ndimage as nd
import scipy.signal as ss

import faltung
from conftest import assert_matches, runs_without_the_gil

ND_MODES = ["reflect", "constant", "nearest", "mirror", "wrap", "grid-mirror", "grid-constant", "grid-wrap"]
SG_MODES = ["interp", "mirror", "constant", "nearest", "wrap"]
DTYPES = [np.float64, np.float32]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", SG_MODES)
@pytest.mark.parametrize(
    "window,order,deriv,delta",
    [(5, 2, 0, 1.0), (11, 3, 0, 1.0), (11, 3, 1, 0.5), (11, 4, 2, 2.0), (21, 5, 3, 1.0), (7, 2, 3, 1.0), (8, 3, 0, 1.0), (1, 0, 0, 1.0), (31, 6, 1, 0.1)],
)
def test_savgol_filter_matches_scipy(rng, dtype, mode, window, order, deriv, delta):
    x = rng.standard_normal(400).astype(dtype)
    want = ss.savgol_filter(x, window, order, deriv=deriv, delta=delta, mode=mode, cval=0.25)
    got = faltung.savgol_filter(x, window, order, deriv=deriv, delta=delta, mode=mode, cval=0.25)
    if dtype == np.float32 and mode == "interp":
        # scipy fits the edge polynomials in float32 (numpy.polyfit on the float32 input),
        # which loses up to ~1e-4 of the peak at high orders; faltung fits in float64. Its
        # float32 result is checked against scipy's float64 fit of the same samples, and
        # must be at least as close to it as scipy's own float32 result.
        exact = ss.savgol_filter(x.astype(np.float64), window, order, deriv=deriv, delta=delta, mode=mode)
        assert got.dtype == want.dtype == np.float32
        assert_matches(got, exact.astype(np.float32), what=f"w{window} p{order} d{deriv} {mode}")
        assert np.max(np.abs(got - exact)) <= np.max(np.abs(want - exact)) * 1.01 + 1e-7 * np.max(np.abs(exact))
        return
    assert_matches(got, want, what=f"w{window} p{order} d{deriv} {mode}")


@pytest.mark.parametrize("mode", SG_MODES)
@pytest.mark.parametrize("axis", [0, 1, -1, 2])
def test_savgol_filter_along_any_axis_of_any_layout(rng, mode, axis):
    base = rng.standard_normal((30, 40, 50))
    for x in (base, np.asfortranarray(base), base[::-1, :, ::-2], base.transpose(2, 0, 1)):
        want = ss.savgol_filter(np.ascontiguousarray(x), 9, 3, deriv=1, axis=axis, mode=mode)
        got = faltung.savgol_filter(x, 9, 3, deriv=1, axis=axis, mode=mode)
        assert_matches(got, want, what=f"axis {axis} {mode} strides {x.strides}")


def test_savgol_filter_integers_and_errors(rng):
    xi = rng.integers(-50, 50, 100)
    assert_matches(faltung.savgol_filter(xi, 7, 2), ss.savgol_filter(xi, 7, 2))
    x = rng.standard_normal(10)
    with pytest.raises(ValueError, match="window_length"):
        faltung.savgol_filter(x, 11, 2)  # interp needs window <= len
    assert_matches(faltung.savgol_filter(x, 11, 2, mode="nearest"), ss.savgol_filter(x, 11, 2, mode="nearest"))
    with pytest.raises(ValueError, match="polyorder"):
        faltung.savgol_filter(x, 5, 5)
    with pytest.raises(ValueError, match="mode"):
        faltung.savgol_filter(x, 5, 2, mode="reflect")
    with pytest.raises(TypeError, match="window_length"):
        faltung.savgol_filter(x, 5.0, 2)
    with pytest.raises(TypeError, match="x"):
        faltung.savgol_filter(x.astype(complex), 5, 2)
    with pytest.raises(ValueError, match="axis"):
        faltung.savgol_filter(x, 5, 2, axis=1)


@pytest.mark.parametrize(
    "window,order,deriv,delta,pos,use",
    [(5, 2, 0, 1.0, None, "conv"), (11, 3, 1, 0.5, None, "conv"), (11, 3, 1, 0.5, None, "dot"), (8, 3, 0, 1.0, None, "conv"), (9, 4, 2, 1.0, 2, "conv"), (7, 2, 3, 1.0, None, "conv"), (1, 0, 0, 1.0, None, "conv"), (15, 3, 0, 1.0, 0, "dot")],
)
def test_savgol_coeffs_match_scipy(window, order, deriv, delta, pos, use):
    want = ss.savgol_coeffs(window, order, deriv=deriv, delta=delta, pos=pos, use=use)
    got = faltung.savgol_coeffs(window, order, deriv=deriv, delta=delta, pos=pos, use=use)
    assert_matches(got, want, what=f"{window} {order} {deriv} pos={pos} {use}")


def test_savgol_coeffs_errors_name_the_argument():
    with pytest.raises(ValueError, match="polyorder"):
        faltung.savgol_coeffs(5, 5)
    with pytest.raises(ValueError, match="pos"):
        faltung.savgol_coeffs(5, 2, pos=5)
    with pytest.raises(ValueError, match="use"):
        faltung.savgol_coeffs(5, 2, use="both")
    with pytest.raises(ValueError, match="delta"):
        faltung.savgol_coeffs(5, 2, deriv=1, delta=0.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ND_MODES)
@pytest.mark.parametrize("nw,origin", [(1, 0), (3, 0), (3, 1), (3, -1), (4, 0), (4, -2), (4, 1), (31, 5), (64, -10)])
@pytest.mark.parametrize("n", [1, 7, 500])
def test_convolve1d_matches_scipy(rng, dtype, mode, nw, origin, n):
    x = rng.standard_normal(n).astype(dtype)
    w = rng.standard_normal(nw)
    want = nd.convolve1d(x, w, mode=mode, cval=-0.75, origin=origin)
    got = faltung.convolve1d(x, w, mode=mode, cval=-0.75, origin=origin)
    assert_matches(got, want, what=f"n{n} w{nw} o{origin} {mode}")


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_convolve1d_any_axis_layout_and_output(rng, axis):
    base = rng.standard_normal((20, 30, 40)).astype(np.float32)
    w = rng.standard_normal(7)
    for x in (base, np.asfortranarray(base), base[::-2, ::-1]):
        want = nd.convolve1d(np.ascontiguousarray(x), w, axis=axis, mode="mirror")
        assert_matches(faltung.convolve1d(x, w, axis=axis, mode="mirror"), want)
    out = np.empty(base.shape, np.float64)
    r = faltung.convolve1d(base, w, axis=axis, output=out)
    assert r is out
    assert_matches(out, nd.convolve1d(base, w, axis=axis, output=np.float64))


def test_convolve1d_errors_and_integers(rng):
    x = rng.standard_normal(20)
    with pytest.raises(ValueError, match="origin"):
        faltung.convolve1d(x, [1.0, 2.0, 3.0], origin=2)
    with pytest.raises(ValueError, match="weights"):
        faltung.convolve1d(x, [])
    with pytest.raises(ValueError, match="mode"):
        faltung.convolve1d(x, [1.0], mode="interp")
    with pytest.raises(TypeError, match="input"):
        faltung.convolve1d(np.ones(3, bool), [1.0])
    with pytest.raises(TypeError, match="weights"):
        faltung.convolve1d(x, [1j, 2.0])
    xi = rng.integers(-9, 9, 50)
    got = faltung.convolve1d(xi, [1.0, 2.0, 3.0])
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, nd.convolve1d(xi.astype(float), [1.0, 2.0, 3.0]), rtol=0, atol=1e-12)
    assert faltung.convolve1d(np.array([]), [1.0, 2.0]).shape == (0,)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ND_MODES)
@pytest.mark.parametrize("sigma,order,truncate", [(0.5, 0, 4.0), (2.0, 0, 4.0), (2.0, 1, 4.0), (3.5, 2, 3.0), (1.5, 3, 4.0), (40.0, 0, 4.0)])
def test_gaussian_filter1d_matches_scipy(rng, dtype, mode, sigma, order, truncate):
    x = rng.standard_normal(300).astype(dtype)
    want = nd.gaussian_filter1d(x, sigma, order=order, mode=mode, cval=0.5, truncate=truncate)
    got = faltung.gaussian_filter1d(x, sigma, order=order, mode=mode, cval=0.5, truncate=truncate)
    assert_matches(got, want, what=f"sigma {sigma} order {order} {mode}")


def test_gaussian_filter1d_radius_axis_and_errors(rng):
    x = rng.standard_normal((6, 200))
    for axis in (0, 1):
        want = nd.gaussian_filter1d(x, 2.5, axis=axis, radius=3)
        assert_matches(faltung.gaussian_filter1d(x, 2.5, axis=axis, radius=3), want)
        assert_matches(faltung.gaussian_filter1d(x.T, 1.2, axis=axis), nd.gaussian_filter1d(x.T, 1.2, axis=axis))
    with pytest.raises(ValueError, match="order"):
        faltung.gaussian_filter1d(x, 1.0, order=-1)
    with pytest.raises(ValueError, match="radius"):
        faltung.gaussian_filter1d(x, 1.0, radius=-1)
    with pytest.raises(ValueError, match="sigma"):
        faltung.gaussian_filter1d(x, 0.0)
    with pytest.raises(ValueError, match="sigma"):
        faltung.gaussian_filter1d(x, np.nan)


def test_nan_stays_local_in_filters(rng):
    x = rng.standard_normal(200)
    x[100] = np.nan
    want = nd.convolve1d(x, np.ones(5) / 5)
    got = faltung.convolve1d(x, np.ones(5) / 5)
    # The direct sum makes exactly the samples within the filter's reach NaN; every one of
    # them is non-finite here too, and the rest agree.
    bad = ~np.isfinite(want)
    assert bad.sum() == 5 and np.all(~np.isfinite(got[bad]))


def test_kernel_specs_match_scipy():
    assert_matches(faltung.kernel("hann:31"), np.hanning(31) / np.hanning(31).sum())
    assert_matches(faltung.kernel("savgol:11,3,deriv=1"), ss.savgol_coeffs(11, 3, deriv=1))
    assert_matches(faltung.kernel("lowpass:255,cutoff=3400", rate=48000), ss.firwin(255, 3400, fs=48000))
    g = faltung.kernel("gaussian:sigma=2.5")
    impulse = np.zeros(41)
    impulse[20] = 1.0
    want = nd.gaussian_filter1d(impulse, 2.5, mode="constant")[20 - 10 : 20 + 11]
    assert_matches(g, want)
    with pytest.raises(ValueError, match="spec"):
        faltung.kernel("nonsense:3")
    with pytest.raises(ValueError, match="rate|Hz|cutoff"):
        faltung.kernel("lowpass:255,cutoff=3400")
    with pytest.raises(TypeError, match="spec"):
        faltung.kernel(31)


def test_filters_release_the_gil(rng):
    from faltung import _faltung

    x = rng.standard_normal((4, 300_000))
    assert runs_without_the_gil(lambda: _faltung.savgol_filter_f64(x, 31, 4, 0, 1.0, 1, "interp", 0.0))
    assert runs_without_the_gil(lambda: _faltung.gaussian_filter1d_f64(x, 8.0, 1, 0, "reflect", 0.0, 4.0))
    w = np.ones(50) / 50
    assert runs_without_the_gil(lambda: _faltung.convolve1d_f64(x, w, 1, "mirror", 0.0, 0))
