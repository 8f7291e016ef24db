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

/// An unnamed temporary file in `output`'s folder, for scratch data (the normalise pass):
/// on Linux an `O_TMPFILE` file that never has a name, elsewhere one unlinked as soon as it
/// is made, so that nothing is left behind even by a killed run. For standard output
/// (`-`), which has no folder, the system's temporary folder. Errors name `output`.
pub fn scratch_next_to(output: &Path) -> Result<std::fs::File, AudioFileError> {
    let dir = if super::is_std_stream(output) {
        std::env::temp_dir()
    } else {
        dest_dir(output)
    };
    tempfile::tempfile_in(dir).map_err(|source| AudioFileError::Destination {
        path: output.to_path_buf(),
        source,
    })
}

/// The marker in the names of the (rare) named temporary files: `.NAME.faltung-PID-N.part`.
const TEMP_MARK: &str = ".faltung-";

/// A named temporary path next to `output`, recognisable and unique to this process.
fn temp_name(output: &Path) -> PathBuf {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let name = output
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    dest_dir(output).join(format!(".{name}{TEMP_MARK}{}-{n}.part", std::process::id()))
}

/// Remove named temporary files that runs killed before they could (their process is
/// gone) from `dir`. Files of running processes and everything else are left alone.
fn sweep_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.starts_with('.') || !name.ends_with(".part") {
            continue;
        }
        let Some(i) = name.rfind(TEMP_MARK) else {
            continue;
        };
        let tail = &name[i + TEMP_MARK.len()..name.len() - ".part".len()];
        let Some(pid) = tail.split('-').next().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        if !process_alive(pid) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn process_alive(pid: i32) -> bool {
    #[cfg(unix)]
    {
        if pid <= 0 {
            return true;
        }
        // SAFETY: signal 0 only checks that the process exists; nothing is sent.
        let r = unsafe { libc::kill(pid, 0) };
        r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// Open an unnamed (`O_TMPFILE`) file in `dir`, where the file system allows it.
#[cfg(target_os = "linux")]
fn open_unnamed(dir: &Path) -> Option<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o644)
        .custom_flags(libc::O_TMPFILE)
        .open(dir)
        .ok()
}

#[cfg(not(target_os = "linux"))]
fn open_unnamed(_dir: &Path) -> Option<std::fs::File> {
    None
}

/// Give the unnamed file `file` the name `to` (fails if `to` exists).
#[cfg(target_os = "linux")]
fn link_unnamed(file: &std::fs::File, to: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::io::AsRawFd;
    let to_c = CString::new(to.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    let from = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd())).expect("no NUL");
    // SAFETY: both paths are valid NUL-terminated strings that outlive the call.
    let r = unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to_c.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    };
    if r == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    if err.kind() == std::io::ErrorKind::AlreadyExists {
        return Err(err);
    }
    // Without /proc: link the descriptor itself (needs CAP_DAC_READ_SEARCH).
    let empty = CString::new("").expect("no NUL");
    // SAFETY: as above; AT_EMPTY_PATH links the open file itself.
    let r = unsafe {
        libc::linkat(
            file.as_raw_fd(),
            empty.as_ptr(),
            libc::AT_FDCWD,
            to_c.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(err)
    }
}

#[cfg(not(target_os = "linux"))]
fn link_unnamed(_file: &std::fs::File, _to: &Path) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

/// An output being written: a temporary file that becomes `path` on [`commit`](Self::commit).
///
/// On Linux the temporary file is unnamed (`O_TMPFILE`) and gets its name only by `linkat`
/// at the commit, so a killed run leaves nothing behind. Where that is not available it is
/// a hidden `.NAME.faltung-PID-N.part`, removed on any error; one left by a killed run is
/// removed by the next run that writes into the same folder.
pub struct AtomicOutput {
    path: PathBuf,
    file: std::fs::File,
    /// The temporary file's name, when it has one.
    named: Option<PathBuf>,
}

impl Drop for AtomicOutput {
    fn drop(&mut self) {
        if let Some(p) = self.named.take() {
            let _ = std::fs::remove_file(p);
        }
    }
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
        let dest = |source| AudioFileError::Destination {
            path: path.to_path_buf(),
            source,
        };
        let dir = dest_dir(path);
        sweep_stale(&dir);
        if let Some(file) = open_unnamed(&dir) {
            return Ok(AtomicOutput {
                path: path.to_path_buf(),
                file,
                named: None,
            });
        }
        let tmp = temp_name(path);
        let mut o = std::fs::OpenOptions::new();
        o.read(true).write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o644);
        }
        let file = o.open(&tmp).map_err(dest)?;
        Ok(AtomicOutput {
            path: path.to_path_buf(),
            file,
            named: Some(tmp),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A buffered writer on the temporary file, starting at its beginning.
    pub fn writer(&self) -> Result<OutputWriter, AudioFileError> {
        let file = self
            .file
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

    /// Put the file in place as the output. Unless `force`, an output that exists by now
    /// is left alone and reported.
    pub fn commit(mut self, force: bool) -> Result<(), AudioFileError> {
        let path = self.path.clone();
        let io = |e: std::io::Error| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                AudioFileError::Exists { path: path.clone() }
            } else {
                AudioFileError::Destination {
                    path: path.clone(),
                    source: e,
                }
            }
        };
        match self.named.clone() {
            Some(tmp) if force => std::fs::rename(&tmp, &path).map_err(io)?,
            Some(tmp) => {
                std::fs::hard_link(&tmp, &path).map_err(io)?;
                let _ = std::fs::remove_file(&tmp);
            }
            None if !force => link_unnamed(&self.file, &path).map_err(io)?,
            None => {
                // Name it beside the output, then rename over the output atomically.
                let tmp = temp_name(&path);
                link_unnamed(&self.file, &tmp).map_err(io)?;
                if let Err(e) = std::fs::rename(&tmp, &path) {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(io(e));
                }
            }
        }
        self.named = None;
        // The new name is durable once the folder is.
        if let Ok(d) = std::fs::File::open(dest_dir(&path)) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

/// Where an output goes: a file written atomically, or standard output (`-`), a stream.
pub enum Output {
    File(AtomicOutput),
    Stdout,
}

/// The writer an [`Output`] hands out. Standard output cannot seek: a WAV on it is written
/// with [`super::AudioWriter::new_stream`].
pub enum OutputSink {
    File(OutputWriter),
    Stdout(BufWriter<std::io::Stdout>),
}

impl Write for OutputSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            OutputSink::File(w) => w.write(buf),
            OutputSink::Stdout(w) => w.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            OutputSink::File(w) => w.write_all(buf),
            OutputSink::Stdout(w) => w.write_all(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            OutputSink::File(w) => w.flush(),
            OutputSink::Stdout(w) => w.flush(),
        }
    }
}

impl Seek for OutputSink {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        match self {
            OutputSink::File(w) => w.seek(to),
            OutputSink::Stdout(_) => Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "standard output cannot seek",
            )),
        }
    }
}

impl Output {
    /// `-` is standard output; anything else an [`AtomicOutput`].
    pub fn create(path: &Path, force: bool) -> Result<Output, AudioFileError> {
        if super::is_std_stream(path) {
            return Ok(Output::Stdout);
        }
        AtomicOutput::create(path, force).map(Output::File)
    }

    pub fn is_stream(&self) -> bool {
        matches!(self, Output::Stdout)
    }

    pub fn writer(&self) -> Result<OutputSink, AudioFileError> {
        match self {
            Output::File(f) => f.writer().map(OutputSink::File),
            Output::Stdout => Ok(OutputSink::Stdout(BufWriter::with_capacity(
                1 << 16,
                std::io::stdout(),
            ))),
        }
    }

    /// Flush `w`; for a file also make it durable.
    pub fn sync(&self, w: OutputSink) -> Result<(), AudioFileError> {
        match (self, w) {
            (Output::File(f), OutputSink::File(w)) => f.sync(w),
            (_, mut w) => w.flush().map_err(|e| AudioFileError::Write {
                path: PathBuf::from("-"),
                reason: e.to_string(),
            }),
        }
    }

    /// Put a file in place (standard output is already delivered).
    pub fn commit(self, force: bool) -> Result<(), AudioFileError> {
        match self {
            Output::File(f) => f.commit(force),
            Output::Stdout => Ok(()),
        }
    }
}
