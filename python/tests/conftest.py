"""Shared helpers: seeded data and the tolerances the package promises against scipy."""

import numpy as np
import pytest


def tol(dtype) -> float:
    return 1e-10 if np.dtype(dtype) == np.float64 else 1e-5


def assert_matches(got, want, *, what=""):
    """Same dtype, shape and numbers as scipy's result, within the promised tolerance
    relative to the peak of scipy's result."""
    want = np.asarray(want)
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != scipy's {want.dtype}"
    assert got.shape == want.shape, f"{what}: shape {got.shape} != scipy's {want.shape}"
    if want.size == 0:
        return
    peak = float(np.max(np.abs(want)))
    err = float(np.max(np.abs(got.astype(np.float64) - want.astype(np.float64))))
    assert err <= tol(want.dtype) * max(peak, np.finfo(np.float64).tiny), (
        f"{what}: max error {err:.3g} > {tol(want.dtype):g} x peak {peak:.3g}"
    )


@pytest.fixture
def rng():
    return np.random.default_rng(0xFA17)


def runs_without_the_gil(call, repeats=5):
    """True if another Python thread ran while `call()` was inside the extension.

    The interpreter's switch interval is raised to 100 s so that it never takes the GIL
    from the calling thread by itself: a second thread (waiting for the GIL) can then run
    only if the extension releases the GIL. The count of that thread's ticks during the
    calls is the evidence."""
    import sys
    import threading

    ticks = []
    stop = threading.Event()
    started = threading.Event()

    def ticker():
        started.set()
        while not stop.is_set():
            ticks.append(1)
            stop.wait(0.0002)

    old = sys.getswitchinterval()
    t = threading.Thread(target=ticker)
    t.start()
    started.wait()
    sys.setswitchinterval(100.0)
    inside = 0
    try:
        for _ in range(repeats):
            before = len(ticks)
            call()
            inside += len(ticks) - before
    finally:
        sys.setswitchinterval(old)
        stop.set()
        t.join()
    return inside > 0
