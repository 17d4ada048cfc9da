//! The writer lock: `flock(2)` on a sidecar `<db>.lock` file.
//!
//! `flock` because the kernel drops it when the holder's process dies, SIGKILL included, so
//! there is never a stale lock to guess about. It belongs to an open file description, so a
//! second open in this very process is excluded just like another process. The holder's
//! record is written into the file only so that waiters can name it; the lock itself, not
//! the file's contents, decides whether the stack is busy.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::stack::state::{Holder, LockGuard, StateError};

/// How often a waiting writer retries the lock.
const LOCK_POLL: Duration = Duration::from_millis(100);
/// A new holder writes its record right after taking the lock, and `holder()` probes take
/// the lock for a few microseconds; a failed attempt with no record behind it is therefore
/// retried this long before the lock is reported busy.
const HOLDER_GRACE: Duration = Duration::from_millis(500);
/// After `wait` runs out the lock must still be taken this much later to count as busy, so
/// that a reader's momentary probe never fails a writer started with `--wait 0`.
const BUSY_CONFIRM: Duration = Duration::from_millis(50);

/// The lock of one stack database, or of one of its scheduled jobs.
pub(super) struct WriterLock {
    /// The database, which errors name.
    db: PathBuf,
    /// `<db>.lock`, or `<db>.job-<name>.lock` for a job.
    path: PathBuf,
}

impl WriterLock {
    /// The stack's one-writer lock.
    pub(super) fn new(db: &Path) -> WriterLock {
        WriterLock::with_suffix(db, ".lock")
    }

    /// A scheduled job's own lock: the same mechanism on its own sidecar, so a job run and
    /// the stack's events exclude each other only through the stack lock the event takes.
    pub(super) fn job(db: &Path, job: &str) -> WriterLock {
        WriterLock::with_suffix(db, &format!(".job-{}.lock", file_safe(job)))
    }

    fn with_suffix(db: &Path, suffix: &str) -> WriterLock {
        let mut path = db.as_os_str().to_owned();
        path.push(suffix);
        WriterLock {
            db: db.to_owned(),
            path: PathBuf::from(path),
        }
    }

    fn fail(&self, message: String) -> StateError {
        StateError::Store {
            path: self.db.clone(),
            message,
        }
    }

    fn io_err(&self, what: &str, e: std::io::Error) -> StateError {
        self.fail(format!("{what} {}: {e}", self.path.display()))
    }

    /// Takes the lock, polling until `wait` runs out.
    pub(super) fn lock(
        &self,
        holder: &Holder,
        wait: Duration,
    ) -> Result<Box<dyn LockGuard>, StateError> {
        // A fresh open file description per call: flock locks belong to it, so a second
        // store (or a second call) in this very process is excluded like another process.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.path)
            .map_err(|e| self.io_err("opening", e))?;
        let start = Instant::now();
        loop {
            if try_flock(&file, libc::LOCK_EX).map_err(|e| self.io_err("locking", e))? {
                break;
            }
            let over = start.elapsed().saturating_sub(wait);
            if over >= BUSY_CONFIRM {
                let recorded = read_holder(&file).map_err(|e| self.io_err("reading", e))?;
                match recorded {
                    Some(h) => return Err(StateError::Busy(h)),
                    None if over >= HOLDER_GRACE => return Err(StateError::Busy(unknown_holder())),
                    None => {}
                }
            }
            let poll = if over.is_zero() {
                LOCK_POLL.min(wait - start.elapsed().min(wait))
            } else {
                BUSY_CONFIRM / 2
            };
            sleep(poll.max(Duration::from_millis(1)));
        }
        let record = serde_json::to_vec(holder)
            .map_err(|e| self.fail(format!("encoding the holder: {e}")))?;
        let mut f = &file;
        f.set_len(0)
            .and_then(|()| f.seek(SeekFrom::Start(0)))
            .and_then(|_| f.write_all(&record))
            .map_err(|e| self.io_err("writing", e))?;
        Ok(Box::new(FlockGuard { file }))
    }

    /// Who holds the lock, without taking it for longer than a probe.
    pub(super) fn holder(&self) -> Result<Option<Holder>, StateError> {
        let file = match File::open(&self.path) {
            Ok(f) => f,
            // Nobody ever locked this stack.
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io_err("opening", e)),
        };
        let deadline = Instant::now() + HOLDER_GRACE;
        loop {
            // A shared probe: it succeeds only if no writer holds the lock, and dropping
            // `file` releases it. The file's contents alone prove nothing: a SIGKILLed
            // holder leaves its record behind.
            if try_flock(&file, libc::LOCK_SH).map_err(|e| self.io_err("probing", e))? {
                return Ok(None);
            }
            if let Some(h) = read_holder(&file).map_err(|e| self.io_err("reading", e))? {
                return Ok(Some(h));
            }
            if Instant::now() >= deadline {
                return Ok(Some(unknown_holder()));
            }
            sleep(Duration::from_millis(20));
        }
    }
}

/// A job name as a file name part. Stack files only admit `[A-Za-z0-9_-]` job names, so this
/// changes nothing for them; it keeps a caller's odd name from escaping the directory.
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The writer lock; the kernel releases it when the file closes, including on SIGKILL.
struct FlockGuard {
    file: File,
}

impl LockGuard for FlockGuard {}

impl Drop for FlockGuard {
    fn drop(&mut self) {
        // Cleared while still held, so a reader never sees this record next to the next
        // holder's lock. Best effort: a stale record is ignored while the lock is free.
        let _ = self.file.set_len(0);
    }
}

/// One non-blocking `flock`; `Ok(false)` when someone else holds a conflicting lock.
fn try_flock(file: &File, op: libc::c_int) -> std::io::Result<bool> {
    loop {
        // SAFETY: flock takes only a descriptor, which `file` keeps open for the call.
        if unsafe { libc::flock(file.as_raw_fd(), op | libc::LOCK_NB) } == 0 {
            return Ok(true);
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EWOULDBLOCK) => return Ok(false),
            Some(libc::EINTR) => continue,
            _ => return Err(e),
        }
    }
}

/// The holder recorded in the lock file, if it is complete and plausible. `None` covers a
/// holder that has locked but not written yet, and a record left by a process that died.
fn read_holder(file: &File) -> std::io::Result<Option<Holder>> {
    let mut text = String::new();
    let mut f = file;
    f.seek(SeekFrom::Start(0))?;
    f.read_to_string(&mut text)?;
    let Ok(h) = serde_json::from_str::<Holder>(&text) else {
        return Ok(None);
    };
    Ok((h.host != hostname() || pid_alive(h.pid)).then_some(h))
}

fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists; nothing is delivered.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Stands in when the lock is held but its holder never recorded itself (stopped right
/// after locking, or an older strata): `Busy` must still name someone.
fn unknown_holder() -> Holder {
    Holder {
        pid: 0,
        command: "unknown".into(),
        since: "unknown".into(),
        host: "unknown".into(),
    }
}

/// This machine's name, as `Holder.host` and the `user@host` of events.
pub(crate) fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it when
    // the name fits, and the search below stops at the buffer's end when it does not.
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        if end > 0 {
            return String::from_utf8_lossy(&buf[..end]).into_owned();
        }
    }
    fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}
