"""Convolver: the streaming engine against scipy.signal.oaconvolve, block by block."""

import pickle

import numpy as np
import pytest
import scipy.signal as ss

import faltung
from conftest import runs_without_the_gil


def stream(conv, x, sizes):
    """Feed x (channels, frames) through conv in calls of the given sizes (cycled)."""
    outs, pos, i = [], 0, 0
    while pos < x.shape[1]:
        n = min(sizes[i % len(sizes)], x.shape[1] - pos)
        outs.append(conv.process(x[:, pos : pos + n]))
        pos += n
        i += 1
    return np.concatenate(outs, axis=1)


def reference(x, irs, paths, out_channels):
    """sum over paths (input, output, ir) of oaconvolve, first frames only, in float64."""
    y = np.zeros((out_channels, x.shape[1]))
    for i, o, k in paths:
        y[o] += ss.oaconvolve(x[i].astype(np.float64), irs[k].astype(np.float64))[: x.shape[1]]
    return y


def check_f32(got, want):
    peak = np.max(np.abs(want))
    err = np.max(np.abs(got.astype(np.float64) - want))
    assert err <= 1e-5 * peak, f"max error {err:.3g} > 1e-5 x peak {peak:.3g}"


@pytest.mark.parametrize("block", [1, 32, 64, 256, 1000])
@pytest.mark.parametrize("taps", [1, 31, 3000])
def test_mono_ir_on_stereo_equals_oaconvolve(rng, block, taps):
    x = rng.standard_normal((2, 6000)).astype(np.float32)
    h = (rng.standard_normal(taps) * np.exp(-np.arange(taps) / (taps / 4 + 1))).astype(np.float32)
    conv = faltung.Convolver(h, block, channels=2)
    assert conv.latency == 0 and conv.output_channels == 2
    y = stream(conv, x, [block, max(1, block // 3), block])
    assert y.dtype == np.float32 and y.shape == x.shape
    check_f32(y, reference(x, [h], [(0, 0, 0), (1, 1, 0)], 2))


@pytest.mark.parametrize(
    "routing,ir_ch,in_ch,out_ch,paths",
    [
        ("auto", 2, 2, 2, [(0, 0, 0), (1, 1, 1)]),
        ("per_channel", 3, 3, 3, [(0, 0, 0), (1, 1, 1), (2, 2, 2)]),
        ("mono_to_stereo", 2, 1, 2, [(0, 0, 0), (0, 1, 1)]),
        ("auto", 4, 2, 2, [(0, 0, 0), (0, 1, 1), (1, 0, 2), (1, 1, 3)]),
        ("true_stereo", 4, 2, 2, [(0, 0, 0), (0, 1, 1), (1, 0, 2), (1, 1, 3)]),
    ],
)
def test_routings_equal_the_sum_of_their_paths(rng, routing, ir_ch, in_ch, out_ch, paths):
    x = rng.standard_normal((in_ch, 5000)).astype(np.float32)
    h = rng.standard_normal((ir_ch, 700)).astype(np.float32) * 0.1
    conv = faltung.Convolver(h, 128, routing=routing)
    assert (conv.channels, conv.output_channels) == (in_ch, out_ch)
    check_f32(stream(conv, x, [128, 50, 7]), reference(x, h, paths, out_ch))


def test_latency_budget_delays_the_output_by_exactly_latency(rng):
    x = rng.standard_normal((1, 8000)).astype(np.float32)
    h = rng.standard_normal(20000).astype(np.float32) * 0.01
    conv = faltung.Convolver(h, 64, latency=512)
    lat = conv.latency
    assert 0 <= lat <= 512
    y = stream(conv, x, [64])
    want = reference(x, [h], [(0, 0, 0)], 1)
    assert np.max(np.abs(y[:, :lat])) == 0.0
    check_f32(y[:, lat:], want[:, : x.shape[1] - lat])


def test_reset_reproduces_the_first_run_and_any_layout_is_read(rng):
    x = rng.standard_normal((2, 3000)).astype(np.float32)
    conv = faltung.Convolver(rng.standard_normal(500), 256, channels=2)
    first = stream(conv, x, [256])
    conv.reset()
    np.testing.assert_array_equal(stream(conv, x, [256]), first)
    conv.reset()
    xf = np.asfortranarray(x)
    xr = np.ascontiguousarray(x[::-1, ::-1])[::-1, ::-1]  # negative strides, same values
    np.testing.assert_array_equal(stream(conv, xf, [256]), first)
    conv.reset()
    np.testing.assert_array_equal(stream(conv, xr, [256]), first)
    # float64 input is converted to float32; out= is filled and returned.
    conv.reset()
    out = np.empty((2, 256), np.float32)
    r = conv.process(x[:, :256].astype(np.float64), out=out)
    assert r is out
    np.testing.assert_array_equal(out, first[:, :256])


def test_pickle_round_trip_rebuilds_an_equal_engine(rng):
    h = rng.standard_normal((2, 400)).astype(np.float32)
    conv = faltung.Convolver(h, 128, routing="per_channel", latency=0)
    x = rng.standard_normal((2, 1000)).astype(np.float32)
    conv.process(x[:, :128])  # history is not pickled: the copy starts fresh
    copy = pickle.loads(pickle.dumps(conv))
    assert (copy.plan, copy.latency, copy.block_size, copy.routing) == (conv.plan, conv.latency, 128, "per_channel")
    conv.reset()
    np.testing.assert_array_equal(stream(copy, x, [128]), stream(conv, x, [128]))


def test_worker_threads_match_the_reference_and_pickle(rng):
    # A 40 000-tap IR at 64-frame calls has levels of 1024 frames and more: they go to the
    # workers; calls back to back (faster than real time) wait for them. With workers the
    # plan is chosen for the calling thread's share, so it may differ from the
    # single-thread plan (the Rust tests check the bits against one thread on one plan).
    h = (rng.standard_normal(40000) * np.exp(-np.arange(40000) / 8000)).astype(np.float32)
    x = rng.standard_normal((2, 50000)).astype(np.float32)
    ref = reference(x, [h], [(0, 0, 0), (1, 1, 0)], 2)
    one = faltung.Convolver(h, 64, channels=2)
    check_f32(stream(one, x, [64, 17, 64]), ref)
    assert one.threads == 0 and one.late_periods == 0
    conv = faltung.Convolver(h, 64, channels=2, threads=2)
    assert conv.threads >= 1
    got = stream(conv, x, [64, 17, 64])
    check_f32(got, ref)
    copy = pickle.loads(pickle.dumps(conv))
    assert copy.threads == conv.threads and copy.plan == conv.plan
    np.testing.assert_array_equal(stream(copy, x, [64, 17, 64]), got)
    # A short IR has no level long enough: no thread is started.
    short = faltung.Convolver(h[:500], 64, channels=2, threads=2)
    assert short.threads == 0
    assert "threads=2 (0 running)" in repr(short)
    assert f"threads=2 ({conv.threads} running)" in repr(conv) or conv.threads == 2
    with pytest.raises(ValueError, match="threads"):
        faltung.Convolver(h, 64, threads=-1)
    with pytest.raises(ValueError, match="threads"):
        faltung.Convolver(h, 64, threads=65)


def test_bad_arguments_raise_clear_errors(rng):
    h = rng.standard_normal(100)
    with pytest.raises(ValueError, match="block_size"):
        faltung.Convolver(h, 0)
    with pytest.raises(TypeError, match="block_size"):
        faltung.Convolver(h, 1.5)
    with pytest.raises(ValueError, match="ir"):
        faltung.Convolver(np.array([]), 64)
    with pytest.raises(ValueError, match="ir"):
        faltung.Convolver(np.array([1.0, np.nan]), 64)
    with pytest.raises(TypeError, match="ir"):
        faltung.Convolver(h.astype(complex), 64)
    with pytest.raises(ValueError, match="routing"):
        faltung.Convolver(h, 64, routing="diagonal")
    with pytest.raises(ValueError, match="routing|channel"):
        faltung.Convolver(rng.standard_normal((3, 10)), 64, channels=2)
    with pytest.raises(ValueError, match="channels"):
        faltung.Convolver(rng.standard_normal((4, 10)), 64, routing="true_stereo", channels=1)
    conv = faltung.Convolver(h, 64, channels=2)
    with pytest.raises(ValueError, match="block_size"):
        conv.process(np.zeros((2, 65), np.float32))
    with pytest.raises(ValueError, match="channel"):
        conv.process(np.zeros((3, 64), np.float32))
    with pytest.raises(ValueError, match="x"):
        conv.process(np.zeros(64, np.float32))
    bad = np.zeros((2, 10), np.float32)
    bad[1, 3] = np.inf
    with pytest.raises(ValueError, match="NaN or Inf"):
        conv.process(bad)
    with pytest.raises(ValueError, match="out"):
        conv.process(np.zeros((2, 10), np.float32), out=np.zeros((2, 11), np.float32))
    with pytest.raises(TypeError, match="out"):
        conv.process(np.zeros((2, 10), np.float32), out=np.zeros((2, 10)))
    # Zero frames is a valid call.
    assert conv.process(np.zeros((2, 0), np.float32)).shape == (2, 0)


def test_process_releases_the_gil(rng):
    conv = faltung.Convolver(rng.standard_normal((1, 200000)).astype(np.float32) * 0.01, 8192)
    x = rng.standard_normal((1, 8192)).astype(np.float32)
    out = np.empty_like(x)
    # The native call itself (numpy, in the wrapper, may release the GIL on its own).
    assert runs_without_the_gil(lambda: conv._engine.process(x, out), repeats=20)
