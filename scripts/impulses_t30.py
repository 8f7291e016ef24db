"""Measure the reverberation time of the shipped impulses (T30: Schroeder backward
integration, line fit from -5 to -35 dB, extrapolated to -60 dB), broadband and in
octave bands (4th-order Butterworth band-pass), for impulses/README.md.

    python3 scripts/impulses_t30.py
"""

import numpy as np
import scipy.io.wavfile as wavfile
import scipy.signal as signal

BANDS = [None, (125, 250), (500, 1000), (2000, 4000), (8000, 16000)]

for name in ["small_room", "large_hall", "plate"]:
    rate, x = wavfile.read(f"impulses/{name}.wav")
    x = x.astype(float) / 2**31 if x.dtype == np.int32 else x.astype(float)
    cells = []
    for band in BANDS:
        y = x[:, 0]
        if band:
            sos = signal.butter(4, band, btype="band", fs=rate, output="sos")
            y = signal.sosfilt(sos, y)
        energy = np.cumsum(y[::-1] ** 2)[::-1]
        edc = 10 * np.log10(energy / energy[0] + 1e-30)
        i5, i35 = np.argmax(edc <= -5), np.argmax(edc <= -35)
        t = np.arange(len(y)) / rate
        slope = np.polyfit(t[i5:i35], edc[i5:i35], 1)[0]
        label = "broadband" if band is None else f"{band[0]}-{band[1]} Hz"
        cells.append(f"{label}: {-60 / slope:.2f} s")
    print(f"{name} (left channel): " + ", ".join(cells))
