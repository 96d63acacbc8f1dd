//! SIGKILL in the middle of appends: a child process appends and syncs, reporting each
//! acknowledgement to its parent through a pipe; the parent kills it with `SIGKILL` and the log is
//! reopened. Every append the child acknowledged must be there.
//!
//! The child is a `fork` of the calling process, so the same code runs in a test, a notebook or
//! a benchmark without a separate executable. After a fork only the calling thread exists in the
//! child, so the child touches nothing that another thread might have held locked at that moment
//! (it never prints, never reads the environment) and leaves with `_exit`, never unwinding into
//! the parent's code. A kill stops a process, not the machine: what the process handed to the
//! kernel survives it, synced or not. Power failures are [`super::crash`]'s business.

use super::{Log, LogConfig, LogId, WalError};
use std::path::Path;
use std::time::Duration;

/// The store a killed writer appends to.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Writer {
    /// A [`Log`] in the directory, default configuration: one sync per batch of appends.
    Log,
    /// Log 1 of an `LsmLogStore` (feature `lsm`) in the directory.
    #[cfg(feature = "lsm")]
    Lsm,
}

/// What the killed writer had acknowledged.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Killed {
    /// The highest index the writer acknowledged durable: every index up to it must survive.
    pub acknowledged_index: u64,
    /// Acknowledgements received (one per sync).
    pub syncs: u64,
}

/// The log a killed LSM writer appends to.
pub const KILLED_LOG: LogId = LogId(1);

/// What a killed writer appends at `index`, so a check knows what each index must hold.
pub fn payload_of(index: u64) -> Vec<u8> {
    format!("entry {index:>8} {}", "#".repeat((index % 50) as usize)).into_bytes()
}

/// Appends in batches of 1 to 7 entries, syncs after each batch and reports the synced index,
/// until killed.
fn append_forever(
    writer: Writer,
    dir: &Path,
    acknowledge: &mut impl FnMut(u64),
) -> Result<(), WalError> {
    let mut append_batch: Box<dyn FnMut(u64) -> Result<u64, WalError>> = match writer {
        Writer::Log => {
            let mut log = Log::open(dir, LogConfig::default())?;
            Box::new(move |n| {
                for _ in 0..n {
                    log.append(&payload_of(log.next_index()))?;
                }
                log.sync()
            })
        }
        #[cfg(feature = "lsm")]
        Writer::Lsm => {
            use super::LogStore;
            let mut store = super::LsmLogStore::open(dir)?;
            Box::new(move |n| {
                for _ in 0..n {
                    let next = store.last_index(KILLED_LOG)? + 1;
                    store.append(KILLED_LOG, &payload_of(next))?;
                }
                store.sync()?;
                store.last_index(KILLED_LOG)
            })
        }
    };
    for batch in 0u64.. {
        acknowledge(append_batch(batch % 7 + 1)?);
    }
    Ok(())
}

/// Why a kill run could not be made.
#[derive(Debug)]
pub enum KillError {
    /// `pipe`, `fork`, `poll`, `read` or `waitpid` failed.
    System(std::io::Error),
    /// The writer ended on its own before it acknowledged enough (it could not open or write).
    WriterExited {
        /// Acknowledgements received before it ended.
        syncs: u64,
        /// Its wait status.
        status: i32,
    },
    /// No acknowledgement arrived within the time allowed.
    Timeout {
        /// Acknowledgements received before the wait ran out.
        syncs: u64,
    },
}

impl std::fmt::Display for KillError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KillError::System(e) => write!(f, "could not run the writer process: {e}"),
            KillError::WriterExited { syncs, status } => write!(
                f,
                "the writer ended by itself (wait status {status}) after {syncs} acknowledgements, \
                 before it was killed: it could not open or write its log"
            ),
            KillError::Timeout { syncs } => write!(
                f,
                "no acknowledgement from the writer for {} s after {syncs}",
                ACK_TIMEOUT.as_secs()
            ),
        }
    }
}

impl std::error::Error for KillError {}

const ACK_TIMEOUT: Duration = Duration::from_secs(60);

fn last_os_error() -> KillError {
    KillError::System(std::io::Error::last_os_error())
}

/// Forks a writer that appends to the store in `dir`, waits for `syncs` acknowledgements, kills
/// it with `SIGKILL` (while it is appending or syncing its next batch), and returns what it had
/// acknowledged, acknowledgements still in the pipe included.
pub fn kill_during_appends(writer: Writer, dir: &Path, syncs: u64) -> Result<Killed, KillError> {
    let mut fds = [0i32; 2];
    // SAFETY: `fds` has room for the two descriptors pipe writes.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(last_os_error());
    }
    let (read_end, write_end) = (fds[0], fds[1]);
    // SAFETY: the child runs only `child_main`, which never returns (it ends with `_exit`).
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        // SAFETY: both descriptors were just opened by pipe.
        unsafe {
            libc::close(read_end);
            libc::close(write_end);
        }
        return Err(last_os_error());
    }
    if pid == 0 {
        // SAFETY: this is the child; the read end belongs to the parent.
        unsafe { libc::close(read_end) };
        child_main(writer, dir, write_end);
    }
    // SAFETY: the write end belongs to the child.
    unsafe { libc::close(write_end) };
    let result = collect_then_kill(pid, read_end, syncs);
    // SAFETY: the read end was opened above and is closed once.
    unsafe { libc::close(read_end) };
    result
}

/// The child: append until killed, writing each acknowledged index (8 bytes, little-endian) to
/// the pipe. Never returns.
fn child_main(writer: Writer, dir: &Path, write_end: i32) -> ! {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        append_forever(writer, dir, &mut |index| {
            let bytes = index.to_le_bytes();
            // SAFETY: `bytes` is 8 readable bytes; a pipe write of 8 bytes is atomic.
            unsafe { libc::write(write_end, bytes.as_ptr().cast(), bytes.len()) };
        })
    }));
    let code = if matches!(outcome, Ok(Ok(()))) { 0 } else { 1 };
    // SAFETY: leaving the child without running the parent's destructors or atexit handlers.
    unsafe { libc::_exit(code) }
}

fn collect_then_kill(pid: i32, read_end: i32, syncs: u64) -> Result<Killed, KillError> {
    let mut killed = Killed {
        acknowledged_index: 0,
        syncs: 0,
    };
    let mut pending = Vec::new();
    let outcome = loop {
        if killed.syncs >= syncs {
            break Ok(());
        }
        let mut poll = libc::pollfd {
            fd: read_end,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut poll, 1, ACK_TIMEOUT.as_millis() as i32) };
        if ready < 0 {
            break Err(last_os_error());
        }
        if ready == 0 {
            break Err(KillError::Timeout {
                syncs: killed.syncs,
            });
        }
        match read_some(read_end, &mut pending, &mut killed) {
            Ok(0) => {
                break Err(KillError::WriterExited {
                    syncs: killed.syncs,
                    status: wait_for(pid).unwrap_or(-1),
                });
            }
            Ok(_) => {}
            Err(e) => break Err(e),
        }
    };
    if let Err(e) = outcome {
        // SAFETY: `pid` is our child (killing an already reaped one fails harmlessly).
        unsafe { libc::kill(pid, libc::SIGKILL) };
        let _ = wait_for(pid);
        return Err(e);
    }
    // SAFETY: `pid` is our child, still running: it never stops by itself.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let status = wait_for(pid)?;
    if !libc::WIFSIGNALED(status) || libc::WTERMSIG(status) != libc::SIGKILL {
        return Err(KillError::WriterExited {
            syncs: killed.syncs,
            status,
        });
    }
    // The child is gone, so every acknowledgement it sent is in the pipe. Read without blocking:
    // a writer forked by another thread may have inherited the write end and keep it open.
    // SAFETY: `read_end` is open; O_NONBLOCK only changes how read waits.
    unsafe { libc::fcntl(read_end, libc::F_SETFL, libc::O_NONBLOCK) };
    loop {
        match read_some(read_end, &mut pending, &mut killed) {
            Ok(0) => break,
            Ok(_) => {}
            Err(KillError::System(e)) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    Ok(killed)
}

/// Reads what the pipe holds (blocking only for a live writer); returns the bytes read.
fn read_some(
    read_end: i32,
    pending: &mut Vec<u8>,
    killed: &mut Killed,
) -> Result<usize, KillError> {
    let mut buffer = [0u8; 4096];
    // SAFETY: `buffer` is writable for its whole length.
    let n = unsafe { libc::read(read_end, buffer.as_mut_ptr().cast(), buffer.len()) };
    if n < 0 {
        return Err(last_os_error());
    }
    pending.extend_from_slice(&buffer[..n as usize]);
    let whole = pending.len() / 8 * 8;
    for chunk in pending[..whole].chunks_exact(8) {
        let index = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        killed.acknowledged_index = killed.acknowledged_index.max(index);
        killed.syncs += 1;
    }
    pending.drain(..whole);
    Ok(n as usize)
}

/// Reaps the child; returns its wait status.
fn wait_for(pid: i32) -> Result<i32, KillError> {
    let mut status = 0;
    // SAFETY: `pid` is our child and `status` is writable.
    if unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
        return Err(last_os_error());
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::ScratchDir;

    /// Kills a writer three times in the same directory, each time after a different number of
    /// syncs, and checks after each kill that every acknowledged entry is there and that
    /// nothing else is: the entries read back are exactly 1..=n with the payloads written.
    fn survives_repeated_kills(writer: Writer, read_back: impl Fn(&Path) -> Vec<(u64, Vec<u8>)>) {
        let dir = ScratchDir::new("kill").unwrap();
        let mut acknowledged = 0;
        for syncs in [25, 60, 5] {
            let killed = kill_during_appends(writer, dir.path(), syncs).unwrap();
            assert!(killed.syncs >= syncs, "{killed:?}");
            assert!(
                killed.acknowledged_index > acknowledged,
                "it appended after reopening"
            );
            acknowledged = killed.acknowledged_index;
            let entries = read_back(dir.path());
            let n = entries.len() as u64;
            assert!(
                n >= acknowledged,
                "{writer:?}: only {n} of {acknowledged} acknowledged survived"
            );
            for (expected, (index, payload)) in (1..).zip(&entries) {
                assert_eq!(*index, expected, "{writer:?}: entries contiguous from 1");
                assert_eq!(
                    payload,
                    &payload_of(expected),
                    "{writer:?}: entry {expected}"
                );
            }
        }
    }

    #[test]
    fn the_log_keeps_every_acknowledged_append_through_sigkill() {
        // Claim: a process killed with SIGKILL in the middle of appends and syncs loses none
        // of the appends it acknowledged, and recovery adds nothing (issue 10, "what held").
        survives_repeated_kills(Writer::Log, |dir| {
            let log = Log::open(dir, LogConfig::default()).unwrap();
            log.read_all()
                .unwrap()
                .into_iter()
                .map(|e| (e.index, e.payload))
                .collect()
        });
    }

    #[cfg(feature = "lsm")]
    #[test]
    fn the_lsm_store_keeps_every_acknowledged_append_through_sigkill() {
        // Claim: the same for the LSM store: after SIGKILL mid-write the engine's journal
        // replay finds every acknowledged append, and the last index is found again (issue 22).
        use crate::wal::LogStore;
        survives_repeated_kills(Writer::Lsm, |dir| {
            let store = crate::wal::LsmLogStore::open(dir).unwrap();
            let entries = store.read_range(KILLED_LOG, 0..=u64::MAX).unwrap();
            assert_eq!(
                store.last_index(KILLED_LOG).unwrap(),
                entries.last().map_or(0, |e| e.0)
            );
            entries
        });
    }

    #[test]
    fn a_writer_that_cannot_open_its_log_is_reported_not_awaited() {
        // Claim: a child that fails at once (its directory is a file) ends the run with an
        // error naming what happened, instead of a hang.
        let dir = ScratchDir::new("kill-bad").unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"not a log").unwrap();
        let err = kill_during_appends(Writer::Log, &file, 3).unwrap_err();
        assert!(
            matches!(err, KillError::WriterExited { syncs: 0, .. }),
            "{err}"
        );
    }
}
