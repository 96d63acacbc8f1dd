//! The segmented log: append, sync, read, truncate, clean, and recover after any crash.
//!
//! A directory holds segment files named by the first index they hold
//! (`00000000000000000001.log`, `00000000000000000007.log`, ...). Naming a segment by its first
//! index removes the reference's off-by-one (spec §2.3.3: `wal_k.log` held entries from k + 1, so
//! `readFrom(k)` skipped entry k). Each segment opens with a 20-byte header (magic, first index,
//! CRC) and then holds frames ([`super::entry`]).
//!
//! The rules that make it crash-safe, each checked at every crash point by the tests in
//! [`super::crash`]:
//! * an entry is acknowledged only after the sync that covers it ([`Log::sync`] returns the
//!   durable index);
//! * the log's directory, when the log creates it, is made durable (its parent is synced)
//!   before anything goes into it;
//! * a segment is synced before the next one is created, and a new segment's header and
//!   directory entry are synced before any entry goes into it, so only the newest segment can
//!   have a torn tail;
//! * recovery checks every frame's CRC and index and cuts the newest segment's torn tail: bad
//!   bytes with nothing valid after them. Bad bytes followed by a valid frame are corruption, in
//!   any segment: the log refuses to open and changes nothing ([`super::scan`] has the rules);
//! * with block padding no write shares a sector with bytes written before it: the header has
//!   a block of its own, every write ends on a block boundary, and after a truncation or a cut
//!   the end moves up to the next boundary (zeros, by a size change rather than a write);
//! * truncation and cleaning remove whole segments one at a time, each removal made durable
//!   before the next, so a crash never leaves a gap.
//!
//! Indexes run from 1 to [`INDEX_MAX`]; a segment named 0 or `u64::MAX`, or with more digits
//! than a `u64` holds, is an error, never a wrap-around.

use super::entry::{
    Entry, EntryKind, FRAME_HEADER_BYTES, decode_frame, encode_frame, frame_bytes, now_ms,
    padding_frame_bytes,
};
use super::scan::{INDEX_MAX, ScanEnd, scan_frames};
use super::{FileHandle, FileSystem, OsFileSystem, WalError};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Bytes of the header at the start of every segment file.
pub const SEGMENT_HEADER_BYTES: u64 = 20;
const SEGMENT_MAGIC: &[u8; 8] = b"PDSWAL01";
const ZERO_CHUNK_BYTES: usize = 1 << 20;

/// How a log is stored and written.
#[derive(Clone, Debug)]
pub struct LogConfig {
    /// Where the bytes go: the real disk, or a simulated one for crash tests.
    pub file_system: Arc<dyn FileSystem>,
    /// A segment rolls over before an append would make it longer than this.
    pub segment_bytes_max: u64,
    /// Appends collect in memory until this many bytes wait, then go to the file in one write
    /// (0: every append is written at once). A sync always writes what waits first.
    pub write_buffer_bytes: usize,
    /// Grow the newest segment by writing zeros in chunks of this many bytes ahead of the data
    /// (0: off), so that a later sync need not also make a new file size durable.
    pub preallocate_bytes: u64,
    /// End every write on a multiple of this many bytes with a padding frame (None: no padding),
    /// so that no two writes share a sector (spec §2.3.2).
    pub block_bytes: Option<u64>,
}

impl Default for LogConfig {
    fn default() -> LogConfig {
        LogConfig {
            file_system: Arc::new(OsFileSystem),
            segment_bytes_max: 64 << 20,
            write_buffer_bytes: 64 << 10,
            preallocate_bytes: 0,
            block_bytes: None,
        }
    }
}

impl LogConfig {
    /// The default configuration on another file system (a [`super::SimulatedFileSystem`]).
    pub fn on(file_system: Arc<dyn FileSystem>) -> LogConfig {
        LogConfig {
            file_system,
            ..LogConfig::default()
        }
    }

    /// The largest payload one entry can carry.
    pub fn payload_bytes_max(&self) -> u64 {
        self.segment_bytes_max
            .saturating_sub(SEGMENT_HEADER_BYTES + FRAME_HEADER_BYTES as u64)
            .min(u32::MAX as u64)
    }

    fn validate(&self) -> Result<(), WalError> {
        let minimum = SEGMENT_HEADER_BYTES + FRAME_HEADER_BYTES as u64 + 1;
        if self.segment_bytes_max < minimum {
            return Err(WalError::InvalidConfig {
                reason: format!(
                    "segment_bytes_max is {} but a segment needs at least {minimum} bytes \
                     (a header and one entry)",
                    self.segment_bytes_max
                ),
            });
        }
        if let Some(block) = self.block_bytes {
            if block < 2 * FRAME_HEADER_BYTES as u64 {
                return Err(WalError::InvalidConfig {
                    reason: format!(
                        "block_bytes is {block}; use a sector size such as 512 or 4096"
                    ),
                });
            }
        }
        Ok(())
    }
}

/// Counters of what a log did: the numbers behind the cost of durability.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogStats {
    /// Entries appended.
    pub appends: u64,
    /// Write calls to segment files.
    pub writes: u64,
    /// `fdatasync`s of segment files: appends made durable, plus the syncs that roll a segment
    /// (the full one, and the new one's header) and make a truncation durable.
    pub syncs: u64,
    /// Bytes written to segment files (frames, padding and preallocated zeros).
    pub bytes_written: u64,
}

/// The tail that recovery cut off the newest segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TailCut {
    /// The newest segment's file.
    pub segment: PathBuf,
    /// Where the first bad frame started: the segment's new length.
    pub offset_bytes: u64,
    /// Bytes removed.
    pub bytes_cut: u64,
    /// Why the first cut frame was rejected.
    pub reason: String,
}

/// What opening a log found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Segment files found.
    pub segments: usize,
    /// Entries found, every one with a valid CRC and index.
    pub entries: u64,
    /// The torn tail cut off the newest segment, if there was one.
    pub tail_cut: Option<TailCut>,
}

impl fmt::Display for Recovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "recovered {} entries in {} segment(s)",
            self.entries, self.segments
        )?;
        match &self.tail_cut {
            None => write!(f, "; no torn tail"),
            Some(cut) => write!(
                f,
                "; cut {} bytes at byte {} of {} ({})",
                cut.bytes_cut,
                cut.offset_bytes,
                cut.segment
                    .file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default(),
                cut.reason
            ),
        }
    }
}

/// A segment as the notebook draws it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentInfo {
    /// `<first index, 20 digits>.log`.
    pub file_name: String,
    /// The index of its first entry.
    pub first_index: u64,
    /// Entries it holds.
    pub entries: u64,
    /// Its length, header and buffered bytes included.
    pub bytes: u64,
    /// Timestamp of its newest entry (0 when empty): what age-based cleaning looks at.
    pub last_timestamp_ms: u64,
}

#[derive(Copy, Clone, Debug)]
struct Location {
    offset: u64,
    timestamp_ms: u64,
}

#[derive(Debug)]
struct Segment {
    first_index: u64,
    path: PathBuf,
    file: Box<dyn FileHandle>,
    entries: Vec<Location>,
    /// Logical end: bytes in the file plus, for the newest segment, bytes still buffered.
    end_bytes: u64,
    written_bytes: u64,
    /// File length, preallocated zeros included.
    allocated_bytes: u64,
}

impl Segment {
    fn next_index(&self) -> u64 {
        self.first_index + self.entries.len() as u64
    }

    fn last_timestamp_ms(&self) -> u64 {
        self.entries.last().map_or(0, |l| l.timestamp_ms)
    }

    fn span_end(&self, position: usize) -> u64 {
        self.entries
            .get(position + 1)
            .map_or(self.end_bytes, |l| l.offset)
    }
}

/// The file name of the segment whose first entry is `first_index`.
pub fn segment_file_name(first_index: u64) -> String {
    format!("{first_index:020}.log")
}

/// The first index a segment file name stands for: `None` when the name is not a segment's
/// (twenty digits and `.log`), an error when it is but no log writes it (index 0, `u64::MAX`,
/// or more than a `u64` holds).
pub fn parse_segment_file_name(name: &str) -> Option<Result<u64, String>> {
    let digits = name.strip_suffix(".log")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(match digits.parse::<u64>() {
        Ok(first) if (1..=INDEX_MAX).contains(&first) => Ok(first),
        Ok(first) => Err(format!(
            "a segment is named by its first index, and index {first} is never used \
             (indexes run from 1 to {INDEX_MAX})"
        )),
        Err(_) => Err("its number is larger than any index (u64)".to_string()),
    })
}

/// Where the next write goes when writes must start on a block boundary.
fn block_aligned(offset: u64, block_bytes: Option<u64>) -> u64 {
    block_bytes.map_or(offset, |block| offset.div_ceil(block) * block)
}

pub(crate) fn segment_header(first_index: u64) -> Vec<u8> {
    let mut header = Vec::with_capacity(SEGMENT_HEADER_BYTES as usize);
    header.extend_from_slice(SEGMENT_MAGIC);
    header.extend_from_slice(&first_index.to_le_bytes());
    let crc = crc32fast::hash(&header);
    header.extend_from_slice(&crc.to_le_bytes());
    header
}

/// A segmented write-ahead log on a [`FileSystem`].
///
/// ```
/// use patterns::wal::{Log, LogConfig, ScratchDir};
/// let dir = ScratchDir::new("doc-log").unwrap();
/// let mut log = Log::open(dir.path(), LogConfig::default()).unwrap();
/// let index = log.append(b"set x=1").unwrap();
/// assert_eq!(log.sync().unwrap(), index, "durable once synced");
/// drop(log);
/// let log = Log::open(dir.path(), LogConfig::default()).unwrap();
/// assert_eq!(log.read_at(index).unwrap().payload, b"set x=1");
/// ```
#[derive(Debug)]
pub struct Log {
    config: LogConfig,
    dir: PathBuf,
    /// Older segments, oldest first; never written again.
    closed: Vec<Segment>,
    /// The newest segment: appends go here.
    open: Segment,
    buffer: Vec<u8>,
    durable_index: u64,
    stats: LogStats,
    recovery: Recovery,
    stopped: Option<String>,
    zeros: Vec<u8>,
}

impl Log {
    /// Opens the log in `dir` (created, durably, if missing) and recovers it.
    pub fn open(dir: impl AsRef<Path>, config: LogConfig) -> Result<Log, WalError> {
        Log::open_or_create(dir.as_ref(), config, true)
    }

    /// Opens and recovers the log in `dir` only if there is one: a missing directory, or one
    /// without a segment file, is [`WalError::NoLog`] and nothing is created. What an operator's
    /// recovery tool wants (`patterns wal recover`).
    pub fn open_existing(dir: impl AsRef<Path>, config: LogConfig) -> Result<Log, WalError> {
        Log::open_or_create(dir.as_ref(), config, false)
    }

    fn open_or_create(dir: &Path, config: LogConfig, create: bool) -> Result<Log, WalError> {
        config.validate()?;
        let dir = dir.to_path_buf();
        let fs = config.file_system.clone();
        if fs.is_file(&dir) {
            return Err(WalError::DirectoryIsAFile { path: dir });
        }
        if !fs.is_dir(&dir) {
            if !create {
                return Err(WalError::NoLog {
                    path: dir,
                    reason: "the directory does not exist".into(),
                });
            }
            create_dir_durably(&*fs, &dir)?;
        }
        let names = fs
            .list(&dir)
            .map_err(|e| WalError::io("list directory", &dir, e))?;
        let mut firsts: Vec<u64> = Vec::new();
        for name in &names {
            match parse_segment_file_name(name) {
                None => {}
                Some(Ok(first)) => firsts.push(first),
                Some(Err(reason)) => {
                    return Err(WalError::InvalidSegmentName {
                        path: dir.join(name),
                        reason,
                    });
                }
            }
        }
        if firsts.is_empty() && !create {
            return Err(WalError::NoLog {
                path: dir,
                reason: "it holds no segment file (twenty digits and .log)".into(),
            });
        }
        firsts.sort_unstable();

        let mut recovery = Recovery::default();
        let mut segments: Vec<Segment> = Vec::new();
        let mut next_index = 1;
        for (position, &first) in firsts.iter().enumerate() {
            let newest = position + 1 == firsts.len();
            let path = dir.join(segment_file_name(first));
            if let Some(previous) = segments.last() {
                if previous.next_index() != first {
                    return Err(WalError::CorruptSegment {
                        path,
                        offset_bytes: 0,
                        reason: format!(
                            "it starts at index {first} but the previous segment ends before {}: \
                             entries are missing",
                            previous.next_index()
                        ),
                    });
                }
            }
            next_index = first;
            if let Some(segment) = recover_segment(&*fs, &dir, &path, first, newest, &mut recovery)?
            {
                next_index = segment.next_index();
                segments.push(segment);
            }
        }
        let open = match segments.pop() {
            Some(open) => open,
            None => create_segment(&*fs, &dir, next_index, config.block_bytes)?,
        };
        recovery.segments = segments.len() + 1;
        recovery.entries =
            open.next_index() - segments.first().map_or(open.first_index, |s| s.first_index);
        let durable_index = open.next_index() - 1;
        let mut log = Log {
            config,
            dir,
            closed: segments,
            open,
            buffer: Vec::new(),
            durable_index,
            stats: LogStats::default(),
            recovery,
            stopped: None,
            zeros: Vec::new(),
        };
        log.align_end()?;
        // What recovery read may have come from the page cache of a process that died without
        // syncing: make it durable before anyone acts on it.
        let result = log.open.file.sync_data();
        log.stopped_on(result, "sync", &log.open.path.clone())?;
        Ok(log)
    }

    /// What opening the log found (a torn tail cut, or none).
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// The directory holding the segments.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The configuration it was opened with.
    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// Counters since it was opened.
    pub fn stats(&self) -> LogStats {
        self.stats.clone()
    }

    /// The oldest index still held (it grows when segments are cleaned).
    pub fn first_index(&self) -> u64 {
        self.closed
            .first()
            .map_or(self.open.first_index, |s| s.first_index)
    }

    /// The newest index (first index − 1 when empty).
    pub fn last_index(&self) -> u64 {
        self.open.next_index() - 1
    }

    /// The index the next append gets.
    pub fn next_index(&self) -> u64 {
        self.open.next_index()
    }

    /// Every entry up to here survives a crash.
    pub fn durable_index(&self) -> u64 {
        self.durable_index
    }

    /// Whether it holds no entries.
    pub fn is_empty(&self) -> bool {
        self.last_index() < self.first_index()
    }

    /// Segments, oldest first.
    pub fn segments(&self) -> Vec<SegmentInfo> {
        self.closed
            .iter()
            .chain(std::iter::once(&self.open))
            .map(|s| SegmentInfo {
                file_name: segment_file_name(s.first_index),
                first_index: s.first_index,
                entries: s.entries.len() as u64,
                bytes: s.end_bytes,
                last_timestamp_ms: s.last_timestamp_ms(),
            })
            .collect()
    }

    /// Appends a data entry stamped with the wall clock. Not durable until [`Log::sync`].
    pub fn append(&mut self, payload: &[u8]) -> Result<u64, WalError> {
        self.append_entry(EntryKind::Data, now_ms(), payload)
    }

    /// Appends an entry with an explicit kind and timestamp (tests and age-based cleaning pass
    /// time in, so they need no clock).
    pub fn append_entry(
        &mut self,
        kind: EntryKind,
        timestamp_ms: u64,
        payload: &[u8],
    ) -> Result<u64, WalError> {
        self.check_running()?;
        if self.next_index() > INDEX_MAX {
            return Err(WalError::IndexSpaceExhausted {
                last_index: self.last_index(),
            });
        }
        if kind == EntryKind::Padding {
            return Err(WalError::InvalidConfig {
                reason: "padding entries are written by the log itself, not appended".into(),
            });
        }
        let max_bytes = self.config.payload_bytes_max();
        if payload.len() as u64 > max_bytes {
            return Err(WalError::EntryTooLarge {
                payload_bytes: payload.len() as u64,
                max_bytes,
            });
        }
        let frame = frame_bytes(payload.len()) as u64;
        if !self.open.entries.is_empty()
            && self.open.end_bytes + frame > self.config.segment_bytes_max
        {
            self.roll()?;
        }
        let index = self.open.next_index();
        encode_frame(index, kind, timestamp_ms, payload, &mut self.buffer);
        self.open.entries.push(Location {
            offset: self.open.end_bytes,
            timestamp_ms,
        });
        self.open.end_bytes += frame;
        self.stats.appends += 1;
        if self.buffer.len() >= self.config.write_buffer_bytes {
            self.write_buffer()?;
        }
        Ok(index)
    }

    /// Writes buffered entries to the file without syncing: they survive a process crash but not
    /// a power failure.
    pub fn flush(&mut self) -> Result<(), WalError> {
        self.check_running()?;
        self.write_buffer()
    }

    /// Makes every appended entry durable; returns the durable index.
    pub fn sync(&mut self) -> Result<u64, WalError> {
        self.check_running()?;
        self.write_buffer()?;
        if self.durable_index < self.last_index() {
            let result = self.open.file.sync_data();
            self.stopped_on(result, "sync", &self.open.path.clone())?;
            self.stats.syncs += 1;
            self.durable_index = self.last_index();
        }
        Ok(self.durable_index)
    }

    /// The entry at `index`.
    pub fn read_at(&self, index: u64) -> Result<Entry, WalError> {
        self.check_range(index)?;
        let segment = self.segment_of(index);
        let position = (index - segment.first_index) as usize;
        let start = segment.entries[position].offset;
        let bytes = self.read_span(segment, start, segment.span_end(position))?;
        let (entry, _) = decode_frame(&bytes).map_err(|e| WalError::CorruptSegment {
            path: segment.path.clone(),
            offset_bytes: start,
            reason: e.to_string(),
        })?;
        self.expect_index(segment, start, &entry, index)?;
        Ok(entry)
    }

    /// Entries from `from` to the newest, in order (empty when `from` is the next index).
    pub fn read_from(&self, from: u64) -> Result<Vec<Entry>, WalError> {
        if from != self.next_index() || from < self.first_index() {
            self.check_range(from)?;
        }
        let mut entries = Vec::new();
        for segment in self.closed.iter().chain(std::iter::once(&self.open)) {
            if segment.next_index() <= from || segment.entries.is_empty() {
                continue;
            }
            let position = from.saturating_sub(segment.first_index) as usize;
            let start = segment.entries[position].offset;
            let bytes = self.read_span(segment, start, segment.end_bytes)?;
            // One read per segment, then each entry decoded where recovery found it: padding and
            // filler between entries are never decoded twice.
            for (index, location) in
                (segment.first_index + position as u64..).zip(&segment.entries[position..])
            {
                let at = location.offset;
                let (entry, _) = decode_frame(&bytes[(at - start) as usize..]).map_err(|e| {
                    WalError::CorruptSegment {
                        path: segment.path.clone(),
                        offset_bytes: at,
                        reason: e.to_string(),
                    }
                })?;
                self.expect_index(segment, at, &entry, index)?;
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    /// Every entry the log holds, in order.
    pub fn read_all(&self) -> Result<Vec<Entry>, WalError> {
        self.read_from(self.first_index())
    }

    /// Deletes the entry at `from` and every later one, durably (a follower dropping entries
    /// that conflict with its leader's).
    pub fn truncate(&mut self, from: u64) -> Result<(), WalError> {
        self.check_running()?;
        if from == self.next_index() {
            return Ok(());
        }
        self.check_range(from)?;
        self.write_buffer()?;
        let fs = self.config.file_system.clone();
        // Newest first, each removal durable before the next: a crash leaves a prefix.
        while self.open.first_index > from {
            let previous = self
                .closed
                .pop()
                .expect("from >= first_index, so a segment holds it");
            let doomed = std::mem::replace(&mut self.open, previous);
            let result = fs.remove(&doomed.path);
            self.stopped_on(result, "remove", &doomed.path)?;
            let result = fs.sync_dir(&self.dir);
            self.stopped_on(result, "sync directory", &self.dir.clone())?;
        }
        let position = (from - self.open.first_index) as usize;
        let cut = self.open.entries[position].offset;
        let path = self.open.path.clone();
        let result = self.open.file.set_len(cut);
        self.stopped_on(result, "truncate", &path)?;
        self.open.entries.truncate(position);
        self.open.end_bytes = cut;
        self.open.written_bytes = cut;
        self.open.allocated_bytes = cut;
        self.align_end()?;
        let result = self.open.file.sync_data();
        self.stopped_on(result, "sync", &path)?;
        self.stats.syncs += 1;
        self.durable_index = self.durable_index.min(from - 1);
        Ok(())
    }

    /// Removes whole segments whose every entry precedes `index` (after a snapshot that includes
    /// them); returns how many. The newest segment is never removed.
    pub fn clean_before(&mut self, index: u64) -> Result<usize, WalError> {
        self.clean_while(|segment| segment.next_index() <= index)
    }

    /// Removes the oldest segments whose newest entry is more than `max_age_ms` older than
    /// `now_ms` (a retention period); returns how many. Stops at the first younger segment, so
    /// the log stays contiguous.
    pub fn clean_older_than(&mut self, now_ms: u64, max_age_ms: u64) -> Result<usize, WalError> {
        self.clean_while(|segment| now_ms.saturating_sub(segment.last_timestamp_ms()) > max_age_ms)
    }

    fn clean_while(&mut self, doomed: impl Fn(&Segment) -> bool) -> Result<usize, WalError> {
        self.check_running()?;
        let fs = self.config.file_system.clone();
        let mut removed = 0;
        while self.closed.first().is_some_and(&doomed) {
            let path = self.closed[0].path.clone();
            let result = fs.remove(&path);
            self.stopped_on(result, "remove", &path)?;
            // Oldest first, each removal durable before the next: a crash leaves a suffix.
            let result = fs.sync_dir(&self.dir);
            self.stopped_on(result, "sync directory", &self.dir.clone())?;
            self.closed.remove(0);
            removed += 1;
        }
        Ok(removed)
    }

    /// Syncs and closes the log.
    pub fn close(mut self) -> Result<u64, WalError> {
        self.sync()
    }

    fn check_running(&self) -> Result<(), WalError> {
        match &self.stopped {
            Some(cause) => Err(WalError::Stopped {
                cause: cause.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Stops the log on an I/O error: after a failed write or sync nothing can be promised.
    fn stopped_on<T>(
        &mut self,
        result: std::io::Result<T>,
        operation: &'static str,
        path: &Path,
    ) -> Result<T, WalError> {
        result.map_err(|e| {
            let error = WalError::io(operation, path, e);
            self.stopped = Some(error.to_string());
            error
        })
    }

    fn check_range(&self, index: u64) -> Result<(), WalError> {
        if index < self.first_index() || index > self.last_index() {
            return Err(WalError::IndexOutOfRange {
                index,
                first: self.first_index(),
                last: self.last_index(),
            });
        }
        Ok(())
    }

    fn segment_of(&self, index: u64) -> &Segment {
        if index >= self.open.first_index {
            return &self.open;
        }
        let after = self.closed.partition_point(|s| s.first_index <= index);
        &self.closed[after - 1]
    }

    /// Bytes `start..end` of a segment, from its file and, for the newest, from the buffer.
    fn read_span(&self, segment: &Segment, start: u64, end: u64) -> Result<Vec<u8>, WalError> {
        let on_file_end = end.min(segment.written_bytes);
        let mut bytes = if start < on_file_end {
            segment
                .file
                .read_at(start, (on_file_end - start) as usize)
                .map_err(|e| WalError::io("read", &segment.path, e))?
        } else {
            Vec::new()
        };
        if end > segment.written_bytes {
            let from = (start.max(segment.written_bytes) - segment.written_bytes) as usize;
            let to = (end - segment.written_bytes) as usize;
            bytes.extend_from_slice(&self.buffer[from..to]);
        }
        Ok(bytes)
    }

    fn expect_index(
        &self,
        segment: &Segment,
        offset_bytes: u64,
        entry: &Entry,
        index: u64,
    ) -> Result<(), WalError> {
        if entry.index != index {
            return Err(WalError::CorruptSegment {
                path: segment.path.clone(),
                offset_bytes,
                reason: format!("found entry {} where entry {index} belongs", entry.index),
            });
        }
        Ok(())
    }

    /// With block padding, moves the newest segment's end up to the next block boundary by
    /// growing the file with zeros: a size change, not a write, so the sector that holds the
    /// last entries (synced, perhaps acknowledged) is never written again. Recovery reads the
    /// zeros as filler because the frame after them is the one that belongs next.
    fn align_end(&mut self) -> Result<(), WalError> {
        let aligned = block_aligned(self.open.end_bytes, self.config.block_bytes);
        if aligned == self.open.end_bytes || !self.buffer.is_empty() {
            return Ok(());
        }
        // Bytes past the end up to the allocated length are zeros already (preallocated, or
        // left by recovery); only a shorter file grows.
        if self.open.allocated_bytes < aligned {
            let path = self.open.path.clone();
            let result = self.open.file.set_len(aligned);
            self.stopped_on(result, "pad to a block boundary", &path)?;
            self.open.allocated_bytes = aligned;
        }
        self.open.end_bytes = aligned;
        self.open.written_bytes = aligned;
        Ok(())
    }

    fn write_buffer(&mut self) -> Result<(), WalError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        if let Some(block) = self.config.block_bytes {
            let padding = padding_frame_bytes(self.open.end_bytes, block);
            if padding > 0 {
                let payload = vec![0; padding as usize - FRAME_HEADER_BYTES];
                encode_frame(0, EntryKind::Padding, 0, &payload, &mut self.buffer);
                self.open.end_bytes += padding;
            }
        }
        let path = self.open.path.clone();
        let result = self
            .open
            .file
            .write_at(self.open.written_bytes, &self.buffer);
        self.stopped_on(result, "write", &path)?;
        self.stats.writes += 1;
        self.stats.bytes_written += self.buffer.len() as u64;
        self.open.written_bytes += self.buffer.len() as u64;
        self.buffer.clear();
        self.preallocate()
    }

    fn preallocate(&mut self) -> Result<(), WalError> {
        let chunk = self.config.preallocate_bytes;
        if chunk == 0 || self.open.written_bytes <= self.open.allocated_bytes {
            return Ok(());
        }
        let target = (self.open.written_bytes / chunk + 1) * chunk;
        if self.zeros.is_empty() {
            self.zeros = vec![0; ZERO_CHUNK_BYTES];
        }
        let path = self.open.path.clone();
        let mut at = self.open.written_bytes;
        while at < target {
            let len = (target - at).min(ZERO_CHUNK_BYTES as u64) as usize;
            let result = self.open.file.write_at(at, &self.zeros[..len]);
            self.stopped_on(result, "preallocate", &path)?;
            self.stats.writes += 1;
            at += len as u64;
        }
        self.open.allocated_bytes = target;
        Ok(())
    }

    /// Closes the newest segment (synced, preallocation trimmed) and starts the next.
    fn roll(&mut self) -> Result<(), WalError> {
        self.write_buffer()?;
        let path = self.open.path.clone();
        let trimmed = self.open.allocated_bytes > self.open.end_bytes;
        if trimmed {
            let result = self.open.file.set_len(self.open.end_bytes);
            self.stopped_on(result, "trim", &path)?;
            self.open.allocated_bytes = self.open.end_bytes;
        }
        if trimmed || self.durable_index < self.last_index() {
            let result = self.open.file.sync_data();
            self.stopped_on(result, "sync", &path)?;
            self.stats.syncs += 1;
            self.durable_index = self.last_index();
        }
        let fs = self.config.file_system.clone();
        let next = create_segment(
            &*fs,
            &self.dir,
            self.open.next_index(),
            self.config.block_bytes,
        );
        let next = match next {
            Ok(next) => next,
            Err(e) => {
                self.stopped = Some(e.to_string());
                return Err(e);
            }
        };
        self.stats.syncs += 1;
        let full = std::mem::replace(&mut self.open, next);
        self.closed.push(full);
        Ok(())
    }
}

/// Creates `dir` and any missing parents, each made durable by a sync of its parent: until
/// then a crash may take the directory, and every entry in it, away.
fn create_dir_durably(fs: &dyn FileSystem, dir: &Path) -> Result<(), WalError> {
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|a| !a.as_os_str().is_empty() && !fs.is_dir(a))
        .collect();
    fs.create_dir_all(dir)
        .map_err(|e| WalError::io("create directory", dir, e))?;
    for created in missing.into_iter().rev() {
        let parent = created.parent().unwrap_or(Path::new(""));
        fs.sync_dir(parent)
            .map_err(|e| WalError::io("sync directory", parent, e))?;
    }
    Ok(())
}

/// Creates an empty segment whose header and directory entry are durable. With block padding a
/// padding frame fills the header's block, so that no write of entries shares its sector.
fn create_segment(
    fs: &dyn FileSystem,
    dir: &Path,
    first_index: u64,
    block_bytes: Option<u64>,
) -> Result<Segment, WalError> {
    let path = dir.join(segment_file_name(first_index));
    let file = fs
        .open(&path, true)
        .map_err(|e| WalError::io("create", &path, e))?;
    let mut header = segment_header(first_index);
    if let Some(block) = block_bytes {
        let padding = padding_frame_bytes(SEGMENT_HEADER_BYTES, block) as usize;
        if padding > 0 {
            let filler = vec![0; padding - FRAME_HEADER_BYTES];
            encode_frame(0, EntryKind::Padding, 0, &filler, &mut header);
        }
    }
    file.set_len(0)
        .and_then(|_| file.write_at(0, &header))
        .and_then(|_| file.sync_data())
        .map_err(|e| WalError::io("write the header of", &path, e))?;
    fs.sync_dir(dir)
        .map_err(|e| WalError::io("sync directory", dir, e))?;
    let end_bytes = header.len() as u64;
    Ok(Segment {
        first_index,
        path,
        file,
        entries: Vec::new(),
        end_bytes,
        written_bytes: end_bytes,
        allocated_bytes: end_bytes,
    })
}

/// Reads a segment back, checking every frame. Returns None for a newest segment whose
/// creation was torn (no valid header, nothing but zeros): it never held an entry.
fn recover_segment(
    fs: &dyn FileSystem,
    dir: &Path,
    path: &Path,
    first_index: u64,
    newest: bool,
    recovery: &mut Recovery,
) -> Result<Option<Segment>, WalError> {
    let file = fs
        .open(path, false)
        .map_err(|e| WalError::io("open", path, e))?;
    let len = file
        .len_bytes()
        .map_err(|e| WalError::io("read", path, e))?;
    let bytes = file
        .read_at(0, len as usize)
        .map_err(|e| WalError::io("read", path, e))?;
    let header_len = SEGMENT_HEADER_BYTES as usize;
    if bytes.len() < header_len || bytes[..header_len] != segment_header(first_index)[..] {
        if newest && (bytes.len() <= header_len || bytes.iter().all(|b| *b == 0)) {
            fs.remove(path)
                .map_err(|e| WalError::io("remove the torn segment", path, e))?;
            fs.sync_dir(dir)
                .map_err(|e| WalError::io("sync directory", dir, e))?;
            return Ok(None);
        }
        return Err(WalError::CorruptSegment {
            path: path.to_path_buf(),
            offset_bytes: 0,
            reason: format!(
                "the {header_len}-byte segment header is not that of a segment starting at \
                 index {first_index} (not a log file, or overwritten)"
            ),
        });
    }
    let scan = scan_frames(&bytes, header_len, first_index);
    let entries = scan
        .frames
        .iter()
        .filter(|f| f.kind != EntryKind::Padding)
        .map(|f| Location {
            offset: f.offset as u64,
            timestamp_ms: f.timestamp_ms,
        })
        .collect();
    let end_bytes = match scan.end {
        ScanEnd::Clean { at } => at as u64,
        ScanEnd::Corruption { at, reason, .. } => {
            return Err(WalError::CorruptSegment {
                path: path.to_path_buf(),
                offset_bytes: at as u64,
                reason,
            });
        }
        ScanEnd::TornTail { at, reason } if !newest => {
            return Err(WalError::CorruptSegment {
                path: path.to_path_buf(),
                offset_bytes: at as u64,
                reason: format!("{reason}; only the newest segment can have a torn tail"),
            });
        }
        ScanEnd::TornTail { at, reason } => {
            let at = at as u64;
            file.set_len(at)
                .and_then(|_| file.sync_data())
                .map_err(|e| WalError::io("cut the torn tail of", path, e))?;
            recovery.tail_cut = Some(TailCut {
                segment: path.to_path_buf(),
                offset_bytes: at,
                bytes_cut: len - at,
                reason,
            });
            return Ok(Some(Segment {
                first_index,
                path: path.to_path_buf(),
                file,
                entries,
                end_bytes: at,
                written_bytes: at,
                allocated_bytes: at,
            }));
        }
    };
    Ok(Some(Segment {
        first_index,
        path: path.to_path_buf(),
        file,
        entries,
        end_bytes,
        written_bytes: end_bytes,
        allocated_bytes: len,
    }))
}

#[cfg(test)]
#[path = "log_tests.rs"]
mod tests;
