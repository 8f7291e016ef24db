//! Durable, atomic output: a temporary file in the destination folder, written with its
//! data handed to the disk as it goes, `fsync`ed, and renamed over the output only when
//! complete. On any error or cancellation the temporary file is removed (dropped), and an
//! existing output is left untouched.

use std::io::{BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

use super::AudioFileError;

/// The output file, with its data handed to the disk as it is written: every
/// [`Writeback::CHUNK_BYTES`] a non-blocking `sync_file_range(SYNC_FILE_RANGE_WRITE)` (Linux)
/// starts writeback of the chunk, so that the `fsync` before the rename, which makes the
/// output durable, finds most of the file already on its way and does not wait for all of
/// it at the end (on other systems it is a plain file, and the `fsync` does all the work).
pub struct Writeback {
    file: std::fs::File,
    pos: u64,
    /// Bytes from 0 up to here have had writeback started.
    started: u64,
}

impl Writeback {
    const CHUNK_BYTES: u64 = 4 << 20;

    fn new(file: std::fs::File) -> Writeback {
        Writeback {
            file,
            pos: 0,
            started: 0,
        }
    }

    fn start_writeback(&mut self) {
        if self.pos < self.started + Self::CHUNK_BYTES {
            return;
        }
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::io::AsRawFd;
            // Advisory: an error here only means the final fsync does all the work.
            // SAFETY: a plain syscall on a file descriptor we own; no memory is passed.
            unsafe {
                libc::sync_file_range(
                    self.file.as_raw_fd(),
                    self.started as libc::off64_t,
                    (self.pos - self.started) as libc::off64_t,
                    libc::SYNC_FILE_RANGE_WRITE,
                );
            }
        }
        self.started = self.pos;
    }
}

impl Write for Writeback {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.pos += n as u64;
        self.start_writeback();
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Seek for Writeback {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        self.pos = self.file.seek(to)?;
        self.started = self.started.min(self.pos);
        Ok(self.pos)
    }
}

/// The buffered writer an [`AtomicOutput`] hands out.
pub type OutputWriter = BufWriter<Writeback>;

/// The folder `output` will be written in.
pub fn dest_dir(output: &Path) -> PathBuf {
    match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A hidden temporary file next to `output` (removed when dropped).
pub fn temp_next_to(
    output: &Path,
    suffix: &str,
) -> Result<tempfile::NamedTempFile, AudioFileError> {
    let name = output
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    let prefix = format!(".{name}.");
    let mut b = tempfile::Builder::new();
    b.prefix(&prefix).suffix(suffix);
    // Outputs get ordinary file permissions, not the 0600 of a private temp file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(0o644));
    }
    b.tempfile_in(dest_dir(output))
        .map_err(|source| AudioFileError::Destination {
            path: output.to_path_buf(),
            source,
        })
}

/// An output being written: a temporary file that becomes `path` on [`commit`](Self::commit).
pub struct AtomicOutput {
    path: PathBuf,
    tmp: tempfile::NamedTempFile,
}

impl AtomicOutput {
    /// Start writing `path`. Unless `force`, an existing `path` is an error now (and again
    /// at the commit, if one appeared meanwhile).
    pub fn create(path: &Path, force: bool) -> Result<AtomicOutput, AudioFileError> {
        if !force && path.exists() {
            return Err(AudioFileError::Exists {
                path: path.to_path_buf(),
            });
        }
        Ok(AtomicOutput {
            path: path.to_path_buf(),
            tmp: temp_next_to(path, ".part")?,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A buffered writer on the temporary file, starting at its beginning.
    pub fn writer(&self) -> Result<OutputWriter, AudioFileError> {
        let file =
            self.tmp
                .as_file()
                .try_clone()
                .map_err(|source| AudioFileError::Destination {
                    path: self.path.clone(),
                    source,
                })?;
        Ok(BufWriter::with_capacity(1 << 16, Writeback::new(file)))
    }

    /// Flush `w` (a writer from [`writer`](Self::writer)) and make its data durable.
    pub fn sync(&self, w: OutputWriter) -> Result<(), AudioFileError> {
        let werr = |reason: String| AudioFileError::Write {
            path: self.path.clone(),
            reason,
        };
        let file = w
            .into_inner()
            .map_err(|e| werr(e.error().to_string()))?
            .file;
        file.sync_all().map_err(|e| werr(e.to_string()))
    }

    /// Rename the temporary file to the output. Unless `force`, an output that exists by
    /// now is left alone and reported.
    pub fn commit(self, force: bool) -> Result<(), AudioFileError> {
        let path = self.path;
        let persisted = if force {
            self.tmp.persist(&path).map(|_| ())
        } else {
            self.tmp.persist_noclobber(&path).map(|_| ())
        };
        persisted.map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                AudioFileError::Exists { path }
            } else {
                AudioFileError::Destination {
                    path,
                    source: e.error,
                }
            }
        })
    }
}
