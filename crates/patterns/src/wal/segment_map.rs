//! A segment's bytes as recovery reads them: header, entries, zeros, and the torn tail it will
//! cut or the corruption it refuses. `viz::ByteBars` draws them (`ByteSpan::from` a span), so this
//! module stays data: it draws nothing.

use super::SEGMENT_HEADER_BYTES;
use super::entry::EntryKind;
use super::scan::{ScanEnd, scan_frames};

/// What a run of bytes in a segment is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SegmentPart {
    /// The segment header (magic, first index, CRC).
    Header,
    /// A valid entry frame.
    Entry {
        /// Its index.
        index: u64,
    },
    /// A padding frame.
    Padding,
    /// Zeros: preallocated space after the last entry, or filler up to a block boundary.
    Zeros,
    /// Bytes that do not decode, with nothing valid after them: a torn tail, which recovery
    /// cuts off the newest segment.
    Invalid {
        /// Why the first bad frame was rejected.
        reason: String,
    },
    /// Bytes that do not decode, followed by valid frames: corruption, for which recovery
    /// refuses to open the log.
    Corrupt {
        /// Why the first bad frame was rejected.
        reason: String,
    },
}

/// A run of bytes `start_bytes..end_bytes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentSpan {
    /// First byte.
    pub start_bytes: usize,
    /// One past the last byte.
    pub end_bytes: usize,
    /// What the bytes are.
    pub part: SegmentPart,
}

/// Splits a segment file's bytes the way recovery reads them ([`super::scan`]).
pub fn segment_layout(bytes: &[u8]) -> Vec<SegmentSpan> {
    let header = (SEGMENT_HEADER_BYTES as usize).min(bytes.len());
    let mut spans = vec![SegmentSpan {
        start_bytes: 0,
        end_bytes: header,
        part: SegmentPart::Header,
    }];
    let first_index = bytes
        .get(8..16)
        .map_or(1, |b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
    let scan = scan_frames(bytes, header, first_index);
    let mut at = header;
    let mut push = |start_bytes: usize, end_bytes: usize, part: SegmentPart| {
        if end_bytes > start_bytes {
            spans.push(SegmentSpan {
                start_bytes,
                end_bytes,
                part,
            });
        }
    };
    for frame in &scan.frames {
        push(at, frame.offset, SegmentPart::Zeros);
        let part = match frame.kind {
            EntryKind::Padding => SegmentPart::Padding,
            _ => SegmentPart::Entry { index: frame.index },
        };
        push(frame.offset, frame.offset + frame.len, part);
        at = frame.offset + frame.len;
    }
    let (bad_at, part) = match scan.end {
        ScanEnd::Clean { at } => (at, SegmentPart::Zeros),
        ScanEnd::TornTail { at, reason } => (at, SegmentPart::Invalid { reason }),
        ScanEnd::Corruption { at, reason, .. } => (at, SegmentPart::Corrupt { reason }),
    };
    push(at, bad_at, SegmentPart::Zeros);
    push(bad_at, bytes.len(), part);
    spans
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::entry::encode_frame;
    use crate::wal::log::segment_header;

    #[test]
    fn the_layout_shows_header_entries_and_a_torn_tail() {
        // Claim: the spans cover every byte in order, and garbage after the entries is marked
        // invalid with the reason recovery would give.
        let mut bytes = segment_header(1);
        encode_frame(1, EntryKind::Data, 0, b"one", &mut bytes);
        encode_frame(2, EntryKind::Data, 0, b"two", &mut bytes);
        let mut torn = Vec::new();
        encode_frame(3, EntryKind::Data, 0, b"three, torn", &mut torn);
        bytes.extend_from_slice(&torn[..20]);
        let spans = segment_layout(&bytes);
        let parts: Vec<&SegmentPart> = spans.iter().map(|s| &s.part).collect();
        assert!(matches!(
            parts[..],
            [
                SegmentPart::Header,
                SegmentPart::Entry { index: 1 },
                SegmentPart::Entry { index: 2 },
                SegmentPart::Invalid { .. }
            ]
        ));
        assert!(spans.windows(2).all(|w| w[0].end_bytes == w[1].start_bytes));
        assert_eq!(spans.last().unwrap().end_bytes, bytes.len());
    }
}
