//! WAV helpers for the offline and CLI tests: write channels in any format, read them back.

use std::path::Path;

use faltung::audio_file::{AudioWriter, SampleFormat, WavReader};

/// Write channels (equal lengths) as a WAV (a FLAC for a `.flac` path) of `format` (integers from f64 in [-1, 1)).
pub fn write_wav(path: &Path, chans: &[Vec<f64>], rate: u32, format: SampleFormat) {
    let f = std::fs::File::create(path).unwrap();
    let mut w =
        AudioWriter::new(std::io::BufWriter::new(f), path, chans.len(), rate, format).unwrap();
    let n = chans[0].len();
    let inter: Vec<f64> = (0..n)
        .flat_map(|i| chans.iter().map(move |c| c[i]))
        .collect();
    if format.is_float() {
        w.write_f32(&inter.iter().map(|&v| v as f32).collect::<Vec<_>>())
            .unwrap();
    } else {
        let full = (1i64 << (format.bits() - 1)) as f64;
        w.write_int(
            &inter
                .iter()
                .map(|&v| (v * full).round().clamp(-full, full - 1.0) as i32)
                .collect::<Vec<_>>(),
        )
        .unwrap();
    }
    w.finalize().unwrap();
}

/// Read every channel as f64, with the file's format.
pub fn read_wav(path: &Path) -> (Vec<Vec<f64>>, SampleFormat) {
    let mut r = WavReader::open(path).unwrap();
    let info = r.info();
    let frames = info.frames.expect("a WAV file says its length");
    let mut buf = vec![0f32; frames as usize * info.channels];
    assert_eq!(r.read_frames(&mut buf).unwrap() as u64, frames);
    let chans = (0..info.channels)
        .map(|c| {
            buf.iter()
                .skip(c)
                .step_by(info.channels)
                .map(|&v| v as f64)
                .collect()
        })
        .collect();
    (chans, info.format)
}
