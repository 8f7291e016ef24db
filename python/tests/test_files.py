"""read, write, load_ir, process_file: the library's audio-file code from Python, checked
against the standard library's `wave`, scipy.io.wavfile and the `faltung` CLI."""

import os
import subprocess
import wave

import numpy as np
import pytest
import scipy.io.wavfile as wavfile
import scipy.signal as ss

import faltung
from conftest import assert_matches


def write_pcm16(path, data, rate):
    """A 16-bit WAV written by the standard library (independent of faltung)."""
    ints = np.clip(np.round(data * 32768), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(data.shape[0])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(ints.T.tobytes())
    return ints


def test_read_decodes_pcm16_written_by_the_standard_library(tmp_path, rng):
    x = rng.uniform(-0.9, 0.9, (2, 1000))
    ints = write_pcm16(tmp_path / "a.wav", x, 44100)
    data, rate = faltung.read(tmp_path / "a.wav")
    assert rate == 44100 and data.dtype == np.float32 and data.shape == (2, 1000)
    np.testing.assert_array_equal(data, ints.astype(np.float32) / 32768)


@pytest.mark.parametrize("fmt,scipy_dtype,scale", [("f32", np.float32, 1.0), ("i16", np.int16, 2**15), ("i24", np.int32, 2**31), ("i32", np.int32, 2**31)])
def test_write_then_scipy_and_faltung_read_the_same_samples(tmp_path, rng, fmt, scipy_dtype, scale):
    x = rng.uniform(-0.5, 0.5, (3, 2000)).astype(np.float32)
    p = tmp_path / f"{fmt}.wav"
    faltung.write(p, x, 48000, format=fmt)
    rate, s = wavfile.read(p)
    assert rate == 48000 and s.dtype == scipy_dtype and s.shape == (2000, 3)
    back, rate2 = faltung.read(p)
    assert rate2 == 48000 and back.shape == x.shape
    # scipy's integers, scaled to full scale, are faltung's float samples.
    np.testing.assert_allclose(back, (s.T / scale).astype(np.float32), rtol=0, atol=1e-7)
    # Quantised with TPDF dither: within 2 LSB of the input (exact for float).
    lsb = {"f32": 0.0, "i16": 2.0**-15, "i24": 2.0**-23, "i32": 2.0**-31}[fmt]
    assert np.max(np.abs(back.astype(np.float64) - x)) <= 2 * lsb + 1e-7 * (fmt == "i32")


def test_write_accepts_mono_1d_any_layout_and_replaces_atomically(tmp_path, rng):
    x = rng.uniform(-0.5, 0.5, (2, 500))
    p = tmp_path / "m.wav"
    faltung.write(p, x[0], 8000)
    faltung.write(str(p), np.asfortranarray(x)[:, ::-1], 8000)  # replaces, any layout
    back, _ = faltung.read(p)
    np.testing.assert_array_equal(back, x[:, ::-1].astype(np.float32))
    assert os.listdir(tmp_path) == ["m.wav"]  # no temporary file left behind


def test_write_refuses_clipping_and_bad_arguments(tmp_path):
    p = tmp_path / "c.wav"
    with pytest.raises(ValueError, match="clip"):
        faltung.write(p, np.array([[0.5, 1.5, -2.0]]), 8000, format="i16")
    assert not p.exists()
    with pytest.raises(ValueError, match="format"):
        faltung.write(p, np.zeros((1, 4)), 8000, format="mp3")
    with pytest.raises(ValueError, match="NaN"):
        faltung.write(p, np.array([[0.0, np.nan]]), 8000)
    with pytest.raises(ValueError, match="rate"):
        faltung.write(p, np.zeros((1, 4)), 0)
    with pytest.raises(TypeError, match="data"):
        faltung.write(p, np.zeros((1, 4), complex), 8000)
    with pytest.raises(TypeError, match="path"):
        faltung.write(3.5, np.zeros((1, 4)), 8000)
    with pytest.raises(OSError, match="nonexistent-dir"):
        faltung.write(tmp_path / "nonexistent-dir" / "x.wav", np.zeros((1, 4)), 8000)


def test_missing_and_non_wav_files_raise_os_errors_naming_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.wav"):
        faltung.read(tmp_path / "missing.wav")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"this is not a RIFF file at all" * 10)
    with pytest.raises(OSError, match="junk.wav"):
        faltung.read(junk)
    with pytest.raises(OSError, match="junk.wav"):
        faltung.load_ir(junk)
    with pytest.raises(FileNotFoundError, match="missing.wav"):
        faltung.load_ir(tmp_path / "missing.wav")
    with pytest.raises(OSError, match="junk.wav"):
        faltung.process_file(junk, tmp_path / "o.wav", kernel="hann:5")


def test_load_ir_reads_resamples_and_normalizes(tmp_path, rng):
    h = (rng.standard_normal((2, 480)) * np.exp(-np.arange(480) / 80)).astype(np.float32) * 0.5
    p = tmp_path / "ir.wav"
    faltung.write(p, h, 48000)
    ir, rate = faltung.load_ir(p)
    assert rate == 48000 and ir.dtype == np.float64 and ir.shape == (2, 480)
    np.testing.assert_array_equal(ir, h.astype(np.float64))
    peak, _ = faltung.load_ir(p, normalize="peak")
    assert abs(np.max(np.abs(peak)) - 1.0) < 1e-12
    assert_matches(peak, ir / np.max(np.abs(ir)))
    res, rate2 = faltung.load_ir(p, rate=24000)
    # Half the rate: at least half the taps (the resampler keeps its filter's tail).
    assert rate2 == 24000 and res.shape[0] == 2 and res.shape[1] >= 240
    assert np.all(np.isfinite(res)) and np.max(np.abs(res)) > 0
    same, rate3 = faltung.load_ir(p, rate=48000)
    assert rate3 == 48000
    np.testing.assert_array_equal(same, ir)
    with pytest.raises(ValueError, match="normalize"):
        faltung.load_ir(p, normalize="loud")


def cli():
    exe = os.environ.get("FALTUNG_CLI")
    if not exe:
        pytest.skip("FALTUNG_CLI (the faltung binary) not set; scripts/test_python.sh sets it")
    return exe


@pytest.mark.parametrize(
    "extra,kwargs",
    [
        ([], {}),
        (["--mode", "same", "--edge", "reflect"], {"mode": "same", "edge": "reflect"}),
        (["--normalize"], {"normalize": True}),
        (["--normalize=peak=-6dB", "--format", "i16"], {"normalize": "peak=-6dB", "format": "i16"}),
        (["--format", "i24"], {"format": "i24"}),
    ],
)
def test_process_file_writes_the_same_bytes_as_the_cli_with_an_ir(tmp_path, rng, extra, kwargs):
    exe = cli()
    x = rng.uniform(-0.3, 0.3, (2, 20000)).astype(np.float32)
    h = (rng.standard_normal(3000) * np.exp(-np.arange(3000) / 500)).astype(np.float32) * 0.05
    faltung.write(tmp_path / "in.wav", x, 48000)
    faltung.write(tmp_path / "ir.wav", h, 48000)
    subprocess.run([exe, "process", str(tmp_path / "in.wav"), "-o", str(tmp_path / "cli.wav"), "--ir", str(tmp_path / "ir.wav"), "--quiet", *extra], check=True, stdin=subprocess.DEVNULL)
    s = faltung.process_file(tmp_path / "in.wav", tmp_path / "py.wav", ir=tmp_path / "ir.wav", **kwargs)
    assert (tmp_path / "py.wav").read_bytes() == (tmp_path / "cli.wav").read_bytes()
    assert s["frames"] == 20000 and s["channels"] == 2 and s["rate"] == 48000
    assert s["output_frames"] == (20000 + 2999 if kwargs.get("mode", "full") == "full" else 20000)
    assert isinstance(s["plan"], str) and s["seconds"] > 0
    # And the numbers are the convolution (float output, no normalisation).
    if not kwargs:
        y, _ = faltung.read(tmp_path / "py.wav")
        want = ss.oaconvolve(x.astype(np.float64), h[None, :].astype(np.float64), axes=-1)
        assert np.max(np.abs(y - want)) <= 1e-5 * np.max(np.abs(want))
        assert abs(s["peak_dbfs"] - 20 * np.log10(np.max(np.abs(y)))) < 1e-6


def test_process_file_with_a_savgol_kernel_and_interp_edges_matches_the_cli(tmp_path, rng):
    exe = cli()
    x = rng.uniform(-0.5, 0.5, (1, 5000)).astype(np.float32)
    faltung.write(tmp_path / "in.wav", x, 16000)
    subprocess.run([exe, "process", str(tmp_path / "in.wav"), "-o", str(tmp_path / "cli.wav"), "--kernel", "savgol:11,3", "--mode", "same", "--edge", "interp", "--quiet"], check=True, stdin=subprocess.DEVNULL)
    faltung.process_file(tmp_path / "in.wav", tmp_path / "py.wav", kernel="savgol:11,3", mode="same", edge="interp")
    assert (tmp_path / "py.wav").read_bytes() == (tmp_path / "cli.wav").read_bytes()
    y, _ = faltung.read(tmp_path / "py.wav")
    assert_matches(y, ss.savgol_filter(x.astype(np.float64), 11, 3).astype(np.float32))


def test_process_file_errors(tmp_path, rng):
    faltung.write(tmp_path / "in.wav", rng.uniform(-0.1, 0.1, (1, 100)), 8000)
    with pytest.raises(ValueError, match="ir, kernel"):
        faltung.process_file(tmp_path / "in.wav", tmp_path / "o.wav")
    with pytest.raises(ValueError, match="kernel"):
        faltung.process_file(tmp_path / "in.wav", tmp_path / "o.wav", kernel="nonsense:3")
    with pytest.raises(ValueError, match="edge"):
        faltung.process_file(tmp_path / "in.wav", tmp_path / "o.wav", kernel="hann:5", edge="interp", mode="same")
    with pytest.raises(ValueError, match="mode"):
        faltung.process_file(tmp_path / "in.wav", tmp_path / "o.wav", kernel="hann:5", mode="middle")
    faltung.process_file(tmp_path / "in.wav", tmp_path / "o.wav", kernel="hann:5")
    with pytest.raises(FileExistsError, match="o.wav"):
        faltung.process_file(tmp_path / "in.wav", tmp_path / "o.wav", kernel="hann:5")
    s = faltung.process_file(tmp_path / "in.wav", tmp_path / "o.wav", kernel="hann:5", force=True)
    assert s["output_frames"] == 104
    with pytest.raises(FileNotFoundError, match="nope.wav"):
        faltung.process_file(tmp_path / "nope.wav", tmp_path / "o2.wav", kernel="hann:5")
    with pytest.raises(ValueError, match="normalize"):
        faltung.process_file(tmp_path / "in.wav", tmp_path / "o3.wav", kernel="hann:5", normalize="peak=+3dB")
