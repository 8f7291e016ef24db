"""convolve, fftconvolve, oaconvolve against scipy.signal on seeded data."""

import numpy as np
import pytest
import scipy.signal as ss

import faltung
from conftest import assert_matches, runs_without_the_gil

MODES = ["full", "same", "valid"]
LENGTHS = [(1, 1), (1, 7), (7, 1), (5, 5), (16, 3), (3, 16), (300, 31), (31, 300), (4000, 257), (257, 4000), (2048, 2048)]


@pytest.mark.parametrize("method", ["auto", "direct", "fft", "oa"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n1,n2", LENGTHS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_convolve_1d_matches_scipy(rng, n1, n2, mode, method, dtype):
    a = rng.standard_normal(n1).astype(dtype)
    b = rng.standard_normal(n2).astype(dtype)
    scipy_method = "fft" if method == "oa" else method
    want = ss.convolve(a, b, mode=mode, method=scipy_method)
    assert_matches(faltung.convolve(a, b, mode=mode, method=method), want, what=f"{n1}x{n2} {mode} {method}")


@pytest.mark.parametrize("func", ["fftconvolve", "oaconvolve"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n1,n2", LENGTHS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fft_oa_1d_match_scipy(rng, func, n1, n2, mode, dtype):
    a = rng.standard_normal(n1).astype(dtype)
    b = rng.standard_normal(n2).astype(dtype)
    want = getattr(ss, func)(a, b, mode=mode)
    assert_matches(getattr(faltung, func)(a, b, mode=mode), want, what=f"{func} {n1}x{n2} {mode}")


@pytest.mark.parametrize("func", ["fftconvolve", "oaconvolve"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "s1,s2,axes",
    [
        ((2, 1000), (2, 64), -1),  # one IR per channel
        ((2, 1000), (1, 64), -1),  # one IR broadcast to every channel
        ((1, 1000), (3, 64), -1),  # one signal, three IRs
        ((1000, 2), (64, 2), 0),  # frames along axis 0
        ((1000, 2), (64, 1), [0]),
        ((3, 500, 2), (3, 40, 1), 1),  # batch x frames x channels
        ((4, 1, 300), (1, 5, 20), -1),  # broadcasting on both sides
        ((1, 300), (1, 20), None),  # axes=None: axis 0 is trivial (length 1 in both)
        ((2, 300), (1, 20), None),  # axes=None: length 1 on one side is broadcasting
        ((5, 1), (1, 7), None),
    ],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_nd_along_one_axis_broadcasts_like_scipy(rng, func, mode, s1, s2, axes, dtype):
    a = rng.standard_normal(s1).astype(dtype)
    b = rng.standard_normal(s2).astype(dtype)
    try:
        want = getattr(ss, func)(a, b, mode=mode, axes=axes)
    except ValueError as e:
        with pytest.raises(ValueError):
            getattr(faltung, func)(a, b, mode=mode, axes=axes)
        return
    got = getattr(faltung, func)(a, b, mode=mode, axes=axes)
    assert_matches(got, want, what=f"{func} {s1} {s2} axes={axes} {mode}")


@pytest.mark.parametrize("func", ["fftconvolve", "oaconvolve", "convolve"])
def test_any_layout_without_copy_by_the_caller(rng, func):
    base = rng.standard_normal((6, 2000))
    kernel = rng.standard_normal((40, 6))
    views = {
        "strided": (base[::2, ::3], kernel[::2, ::2].T[:1]),
        "fortran": (np.asfortranarray(base), np.asfortranarray(kernel.T)),
        "negative": (base[::-1, ::-1], kernel.T[::-1, ::-1]),
        "transposed": (base.T.T, kernel.T),
    }
    for name, (x, h) in views.items():
        if func == "convolve":
            x, h = x[0], h[0]
            want = ss.convolve(np.ascontiguousarray(x), np.ascontiguousarray(h))
            got = faltung.convolve(x, h)
        else:
            want = getattr(ss, func)(np.ascontiguousarray(x), np.ascontiguousarray(h), axes=-1)
            got = getattr(faltung, func)(x, h, axes=-1)
        assert_matches(got, want, what=f"{func} {name}")


def test_integers_become_float64_and_mixed_precision_is_float64(rng):
    a = rng.integers(-100, 100, 500)
    b = rng.integers(-5, 5, 17).astype(np.int16)
    want = ss.fftconvolve(a, b)
    got = faltung.fftconvolve(a, b)
    assert got.dtype == np.float64
    assert_matches(got, want)
    assert_matches(faltung.oaconvolve(a, b), ss.oaconvolve(a, b))
    np.testing.assert_array_equal(faltung.convolve(a, b, method="direct"), np.convolve(a, b).astype(np.float64))
    x32 = rng.standard_normal(100).astype(np.float32)
    assert faltung.fftconvolve(x32, rng.standard_normal(9)).dtype == np.float64
    assert faltung.fftconvolve(x32, x32[:9]).dtype == np.float32


def test_scalars_and_empty_inputs_follow_scipy():
    assert faltung.fftconvolve(2.0, 3.0) == ss.fftconvolve(2.0, 3.0)
    for func in ("fftconvolve", "oaconvolve"):
        got = getattr(faltung, func)(np.array([]), np.ones(3))
        want = getattr(ss, func)(np.array([]), np.ones(3))
        assert got.shape == want.shape and got.dtype == want.dtype
    with pytest.raises(ValueError, match="in1"):
        faltung.convolve(np.array([]), np.ones(3))
    with pytest.raises(ValueError, match="in2"):
        faltung.convolve(np.ones(3), [])


def test_multi_axis_convolution_is_not_implemented(rng):
    img = rng.standard_normal((20, 30))
    k = rng.standard_normal((3, 3))
    for func in (faltung.fftconvolve, faltung.oaconvolve):
        with pytest.raises(NotImplementedError, match="one axis"):
            func(img, k)
        with pytest.raises(NotImplementedError):
            func(img, k, axes=(0, 1))
    with pytest.raises(NotImplementedError):
        faltung.convolve(img, k)


@pytest.mark.parametrize("bad,match", [
    (np.ones(4, dtype=complex), "complex"),
    (np.ones(4, dtype=bool), "bool"),
    (np.array([1.0, "a"], dtype=object), "object"),
    (np.ones(4, dtype=np.float16), "float16"),
])
def test_unsupported_dtypes_raise_type_error_naming_the_argument(bad, match):
    for func in (faltung.convolve, faltung.fftconvolve, faltung.oaconvolve):
        with pytest.raises(TypeError, match=f"in1.*{match}|in1: .*"):
            func(bad, np.ones(3))
        with pytest.raises(TypeError, match="in2"):
            func(np.ones(3), bad)


def test_bad_arguments_raise_value_error_naming_them(rng):
    x = rng.standard_normal(10)
    with pytest.raises(ValueError, match="mode"):
        faltung.fftconvolve(x, x, mode="circular")
    with pytest.raises(ValueError, match="method"):
        faltung.convolve(x, x, method="winograd")
    with pytest.raises(ValueError, match="dimensionality"):
        faltung.fftconvolve(x, x[None, :])
    with pytest.raises(ValueError, match="axes"):
        faltung.fftconvolve(x, x, axes=3)
    with pytest.raises(ValueError, match="axes"):
        faltung.fftconvolve(x[None], x[None], axes=[1, -1])
    with pytest.raises(ValueError, match="incompatible"):
        faltung.fftconvolve(np.ones((2, 10)), np.ones((3, 4)), axes=-1)


def test_nan_and_inf_propagate_like_the_direct_sum(rng):
    x = rng.standard_normal(200)
    x[50] = np.nan
    x[120] = np.inf
    h = rng.standard_normal(8)
    want = np.convolve(x, h)
    for method in ("direct", "fft", "oa", "auto"):
        got = faltung.convolve(x, h, method=method)
        # Every output the direct sum makes non-finite is non-finite here too; the finite
        # ones agree (FFT methods may spread a NaN further, as scipy's do).
        assert np.all(~np.isfinite(got[~np.isfinite(want)])), method
        if method == "direct":
            ok = np.isfinite(want)
            assert_matches(got[ok], want[ok])


def test_gil_is_released_while_rust_works(rng):
    # The native calls themselves (numpy, in the wrappers, may release the GIL on its own).
    from faltung import _faltung

    x = rng.standard_normal(1_000_000)
    h = rng.standard_normal(3000)
    n = x.size + h.size - 1
    assert runs_without_the_gil(lambda: _faltung.convolve_axis_f64(x, h, 0, 0, n, "fft"))
    assert runs_without_the_gil(lambda: _faltung.convolve_axis_f32(x.astype(np.float32), h[:20].astype(np.float32), 0, 0, 1000, "direct"))


# float32 with one input at most half the other goes through the streaming engine in
# float32 (offline plan, whole blocks): long IRs with several partitions, the IR longer than
# the signal, every mode, lanes sharing one IR (broadcast) and lanes with their own.
@pytest.mark.parametrize("func", ["fftconvolve", "oaconvolve", "convolve"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n1,n2", [(60000, 12000), (12000, 60000), (5000, 2400), (100000, 700), (3001, 2)])
def test_float32_through_the_engine_matches_scipy(rng, func, mode, n1, n2):
    a = rng.standard_normal(n1).astype(np.float32)
    b = (rng.standard_normal(n2) * np.exp(-np.arange(n2) / (n2 / 4 + 1))).astype(np.float32)
    want = getattr(ss, func)(a, b, mode=mode)
    assert want.dtype == np.float32
    assert_matches(getattr(faltung, func)(a, b, mode=mode), want, what=f"{func} {n1}x{n2} {mode}")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "s1,s2,axes",
    [
        ((2, 30000), (1, 5000), -1),  # one IR on both channels: one engine, reset
        ((2, 30000), (2, 5000), -1),  # one IR per channel
        ((30000, 2), (5000, 1), 0),  # lanes along axis 0 (strided)
        ((3, 20000, 2), (3, 3000, 2), 1),
    ],
)
def test_float32_engine_lanes_broadcast_like_scipy(rng, mode, s1, s2, axes):
    a = rng.standard_normal(s1).astype(np.float32)
    b = rng.standard_normal(s2).astype(np.float32)
    want = ss.oaconvolve(a, b, mode=mode, axes=axes)
    assert_matches(faltung.oaconvolve(a, b, mode=mode, axes=axes), want, what=f"{s1} {s2} {mode}")
    # Negative strides and Fortran order give the same numbers.
    fa = np.asfortranarray(a)[..., ::-1] if axes == -1 else np.asfortranarray(a)[::-1]
    want_r = ss.oaconvolve(np.ascontiguousarray(fa), b, mode=mode, axes=axes)
    assert_matches(faltung.oaconvolve(fa, b, mode=mode, axes=axes), want_r, what="strided")


def test_float32_engine_is_float32_and_close_to_the_exact_result(rng):
    # 60 s-like proportions at a small scale: the float32 result is within 1e-5 of the
    # peak of the exact (float64) convolution, and is not the float64 result rounded
    # (it was computed in float32).
    x = rng.standard_normal((2, 200_000)).astype(np.float32)
    h = (rng.standard_normal((1, 20_000)) * np.exp(-np.arange(20_000) / 4000)).astype(np.float32)
    got = faltung.oaconvolve(x, h, axes=-1)
    exact = ss.fftconvolve(x.astype(np.float64), h.astype(np.float64), axes=-1)
    assert got.dtype == np.float32 and got.shape == exact.shape
    err = np.max(np.abs(got - exact))
    assert err <= 1e-5 * np.max(np.abs(exact))
    assert not np.array_equal(got, exact.astype(np.float32))


def test_float32_engine_propagates_nan_and_releases_the_gil(rng):
    from faltung import _faltung

    x = rng.standard_normal(50_000).astype(np.float32)
    h = rng.standard_normal(4000).astype(np.float32)
    x[10_000] = np.nan
    got = faltung.oaconvolve(x, h)
    assert np.all(np.isnan(got[10_000:14_000])) and np.all(np.isfinite(got[:8_000]))
    n = x.size + h.size - 1
    x[10_000] = 0.0
    assert runs_without_the_gil(lambda: _faltung.convolve_axis_f32(x, h, 0, 0, n, "oa"))
