//! Reading a segment's frames back, and telling a torn tail from corruption.
//!
//! Recovery and the segment figure ([`super::segment_layout`]) both read a segment through
//! `scan_frames`, so the picture always shows what recovery will do. Where a frame does not
//! decode, what follows decides what the bad bytes are:
//!
//! | after the bad bytes | they are | recovery |
//! |---|---|---|
//! | nothing but zeros | the end of an interrupted write | cuts them off the newest segment |
//! | zeros, then the frame that belongs next | filler before a block boundary | skips them |
//! | zeros, then a later frame | pages of an unsynced write that never reached the disk while a later page did (the kernel writes dirty pages back in any order) | cuts them off the newest segment |
//! | non-zero bytes, then any valid frame | damage to bytes that were written: a flipped bit, a garbled sector | refuses to open, changes nothing |
//!
//! Why a later frame after zeros is never a synced one: a sync covers every byte written before
//! it, so if that frame had been synced, the bytes before it would have been too, and would not
//! read as zeros. Non-zero bad bytes followed by a valid frame have no such excuse; cutting there
//! would drop entries that may have been acknowledged (issue 10, item 7), so the log refuses and
//! names the segment and offset, and an operator decides. The zeros rule is the one etcd's WAL
//! uses to tell a torn write from corruption; its blind spot is a synced sector that a device
//! later returns as zeros, which reads as an unsynced tail.

use super::entry::{EntryKind, FRAME_HEADER_BYTES, decode_frame};

/// The largest index an entry can have: one less than `u64::MAX`, so the next index always fits.
pub const INDEX_MAX: u64 = u64::MAX - 1;

/// A frame that decoded, where it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ScannedFrame {
    pub offset: usize,
    pub len: usize,
    pub kind: EntryKind,
    pub index: u64,
    pub timestamp_ms: u64,
}

/// How the frames of a segment end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ScanEnd {
    /// At the end of the bytes, or where only zeros (preallocated space) remain.
    Clean { at: usize },
    /// Bad bytes at `at` with nothing valid after them (or only an unsynced write's later
    /// pages, after zeros): the tail of an interrupted write.
    TornTail { at: usize, reason: String },
    /// Bad bytes at `at`, then a valid frame at `next_frame_at`: damage, not a torn tail.
    Corruption {
        at: usize,
        next_frame_at: usize,
        reason: String,
    },
}

/// The frames of a segment, in order, and how they end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FrameScan {
    pub frames: Vec<ScannedFrame>,
    pub end: ScanEnd,
}

/// Reads frames from `bytes[start..]`, expecting entry `first_index` first and every entry to
/// follow the one before (padding frames may come anywhere).
pub(crate) fn scan_frames(bytes: &[u8], start: usize, first_index: u64) -> FrameScan {
    let mut frames = Vec::new();
    let mut expected = first_index;
    let mut at = start;
    let end = loop {
        if at >= bytes.len() {
            break ScanEnd::Clean { at };
        }
        let reason = match decode_frame(&bytes[at..]) {
            Ok((entry, len)) if entry.kind == EntryKind::Padding || entry.index == expected => {
                if entry.kind != EntryKind::Padding {
                    if expected > INDEX_MAX {
                        break ScanEnd::Corruption {
                            at,
                            next_frame_at: at,
                            reason: format!(
                                "an entry claims index {}, beyond the largest",
                                entry.index
                            ),
                        };
                    }
                    expected += 1;
                }
                frames.push(ScannedFrame {
                    offset: at,
                    len,
                    kind: entry.kind,
                    index: entry.index,
                    timestamp_ms: entry.timestamp_ms,
                });
                at += len;
                continue;
            }
            Ok((entry, _)) => {
                // A valid frame in the wrong place was written there by someone: never a tear.
                break ScanEnd::Corruption {
                    at,
                    next_frame_at: at,
                    reason: format!("found entry {} where entry {expected} belongs", entry.index),
                };
            }
            Err(e) => e,
        };
        let zeros_until = |to: usize| bytes[at..to].iter().all(|b| *b == 0);
        match next_valid_frame(bytes, at) {
            None if zeros_until(bytes.len()) => break ScanEnd::Clean { at },
            None => {
                break ScanEnd::TornTail {
                    at,
                    reason: reason.to_string(),
                };
            }
            Some((next, kind, index)) if zeros_until(next) => {
                if kind == EntryKind::Padding || index == expected {
                    at = next;
                    continue;
                }
                break ScanEnd::TornTail {
                    at,
                    reason: format!(
                        "zeros where entry {expected} belongs, then entry {index}: pages of an \
                         unsynced write that never reached the disk"
                    ),
                };
            }
            Some((next, _, _)) => {
                break ScanEnd::Corruption {
                    at,
                    next_frame_at: next,
                    reason: format!(
                        "{}, and a valid frame follows at byte {next}, so this is damage to \
                         written bytes, not a torn tail",
                        reason
                    ),
                };
            }
        }
    };
    FrameScan { frames, end }
}

/// The first offset after `from` where a frame decodes: its offset, kind and index.
///
/// A valid frame's header is never all zeros (the CRC of a zero header is not zero), so runs of
/// zeros, such as preallocated space, are stepped over whole.
fn next_valid_frame(bytes: &[u8], from: usize) -> Option<(usize, EntryKind, u64)> {
    let mut at = from + 1;
    while at + FRAME_HEADER_BYTES <= bytes.len() {
        if bytes[at..at + FRAME_HEADER_BYTES].iter().all(|b| *b == 0) {
            let nonzero = at + bytes[at..].iter().position(|b| *b != 0)?;
            at = (nonzero + 1).saturating_sub(FRAME_HEADER_BYTES).max(at + 1);
            continue;
        }
        if let Ok((entry, _)) = decode_frame(&bytes[at..]) {
            return Some((at, entry.kind, entry.index));
        }
        at += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::entry::encode_frame;

    fn frames(first: u64, n: u64) -> Vec<u8> {
        let mut bytes = Vec::new();
        for index in first..first + n {
            encode_frame(
                index,
                EntryKind::Data,
                0,
                format!("set x={index}").as_bytes(),
                &mut bytes,
            );
        }
        bytes
    }

    /// Four frames of 32 bytes, changed by `edit`.
    fn four_frames_then(edit: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
        let mut bytes = frames(1, 4);
        edit(&mut bytes);
        bytes
    }

    #[test]
    fn what_follows_bad_bytes_decides_what_they_are() {
        // Claim: each row of the module's table, on four frames of 32 bytes.
        let rows: [(&str, Vec<u8>, &str); 8] = [
            ("intact", four_frames_then(|_| {}), "clean"),
            (
                "preallocated zeros",
                four_frames_then(|b| b.extend([0; 100])),
                "clean",
            ),
            (
                "half a frame",
                four_frames_then(|b| b.extend_from_slice(&frames(5, 1)[..20])),
                "torn",
            ),
            (
                "a flipped bit in the last frame",
                four_frames_then(|b| b[3 * 32 + 27] ^= 1),
                "torn",
            ),
            (
                "a flipped bit before valid frames",
                four_frames_then(|b| b[32 + 27] ^= 1),
                "corrupt",
            ),
            (
                "zeros, then the entry that belongs next",
                four_frames_then(|b| b.splice(64..64, [0; 30]).for_each(drop)),
                "clean",
            ),
            (
                "zeros, then a later entry",
                four_frames_then(|b| {
                    b.truncate(64);
                    b.extend([0; 64]);
                    b.extend(frames(5, 2));
                }),
                "torn",
            ),
            (
                "a valid frame with the wrong index",
                four_frames_then(|b| {
                    b.truncate(64);
                    b.extend(frames(7, 1));
                }),
                "corrupt",
            ),
        ];
        for (what, bytes, expected) in rows {
            let got = match scan_frames(&bytes, 0, 1).end {
                ScanEnd::Clean { .. } => "clean",
                ScanEnd::TornTail { .. } => "torn",
                ScanEnd::Corruption { .. } => "corrupt",
            };
            assert_eq!(got, expected, "{what}");
        }
    }

    #[test]
    fn corruption_names_where_the_damage_starts_and_where_valid_frames_resume() {
        // Claim: the offset reported is that of the damaged frame, not of the flipped byte.
        let mut bytes = frames(1, 4);
        bytes[32 + 27] ^= 1;
        let scan = scan_frames(&bytes, 0, 1);
        assert_eq!(scan.frames.len(), 1);
        assert!(matches!(
            scan.end,
            ScanEnd::Corruption {
                at: 32,
                next_frame_at: 64,
                ..
            }
        ));
    }

    #[test]
    fn an_entry_past_the_largest_index_is_refused() {
        // Claim: frames at INDEX_MAX and after it: the first is taken, the second refused, and
        // nothing overflows.
        let mut bytes = Vec::new();
        encode_frame(INDEX_MAX, EntryKind::Data, 0, b"last", &mut bytes);
        encode_frame(u64::MAX, EntryKind::Data, 0, b"none", &mut bytes);
        let scan = scan_frames(&bytes, 0, INDEX_MAX);
        assert_eq!(scan.frames.len(), 1);
        assert!(matches!(scan.end, ScanEnd::Corruption { .. }));
    }
}
