//! The wire: length-delimited frames, each one serde value in postcard's compact encoding.
//!
//! A frame is a 4-byte big-endian length, then that many bytes of payload. The reader checks the
//! length against a limit *before* it allocates or reads the payload, so a peer cannot make a
//! node reserve gigabytes with four bytes; a payload must decode to exactly one value with no
//! bytes left over. Whatever a peer sends, reading ends in a frame or in a [`FrameError`], never
//! in a panic: the connection is closed and the node goes on serving the others. (The reference
//! wrapped JSON in a 9-byte header with a 10 MiB limit, spec §1.12.)

use crate::node::{ProcessId, RequestId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;
use tokio::io::{AsyncRead, AsyncReadExt};

/// The default limit on a frame's payload: 1 MiB, far above any protocol message here.
pub const FRAME_BYTES_MAX: usize = 1 << 20;

/// Bytes of the length prefix.
pub const LENGTH_BYTES: usize = 4;

/// Everything that crosses a connection.
///
/// A node opens one connection to each peer and starts it with [`Frame::Hello`]; messages follow.
/// A client opens a connection to a node and sends requests on it; the node answers on the same
/// connection (a client has no address of its own, spec §1.12).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Frame<M, O, R> {
    /// The first frame a node sends a peer: who is calling.
    Hello { from: ProcessId },
    /// A protocol message from the node that said hello.
    Message(M),
    /// A client's request.
    Request { request: RequestId, operation: O },
    /// A node's answer to a request.
    Reply { request: RequestId, reply: R },
}

/// Why a frame was refused.
#[derive(Debug)]
pub enum FrameError {
    /// The length prefix announces more than the limit.
    TooLarge {
        bytes: u64,
        limit: usize,
    },
    /// The connection ended in the middle of a frame.
    Truncated {
        expected: usize,
        received: usize,
    },
    /// The payload is not one value of the expected type.
    Undecodable {
        reason: String,
    },
    /// A frame that does not belong here (a second hello, a reply sent to a node).
    Unexpected {
        what: String,
    },
    Io(std::io::Error),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::TooLarge { bytes, limit } => {
                write!(f, "frame of {bytes} bytes refused: the limit is {limit}")
            }
            FrameError::Truncated { expected, received } => write!(
                f,
                "connection closed inside a frame: {received} of {expected} bytes arrived"
            ),
            FrameError::Undecodable { reason } => write!(f, "undecodable frame: {reason}"),
            FrameError::Unexpected { what } => write!(f, "unexpected frame: {what}"),
            FrameError::Io(e) => write!(f, "connection error: {e}"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Serialises `value` as one frame: length prefix, then payload. Fails only for a value serde
/// cannot write compactly (a sequence of unknown length) or one beyond the 4 GiB a prefix holds.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, FrameError> {
    let mut bytes = postcard::to_extend(value, vec![0u8; LENGTH_BYTES]).map_err(|e| {
        FrameError::Undecodable {
            reason: format!("cannot encode: {e}"),
        }
    })?;
    let payload = u32::try_from(bytes.len() - LENGTH_BYTES).map_err(|_| FrameError::TooLarge {
        bytes: bytes.len() as u64,
        limit: u32::MAX as usize,
    })?;
    bytes[..LENGTH_BYTES].copy_from_slice(&payload.to_be_bytes());
    Ok(bytes)
}

/// Decodes one payload (without its length prefix): exactly one value, nothing left over.
pub fn decode<T: DeserializeOwned>(payload: &[u8]) -> Result<T, FrameError> {
    let (value, rest) =
        postcard::take_from_bytes::<T>(payload).map_err(|e| FrameError::Undecodable {
            reason: e.to_string(),
        })?;
    if !rest.is_empty() {
        return Err(FrameError::Undecodable {
            reason: format!("{} bytes left after the value", rest.len()),
        });
    }
    Ok(value)
}

/// Reads the next frame. `Ok(None)`: the peer closed the connection between two frames.
pub async fn read_frame<T, R>(
    reader: &mut R,
    limit: usize,
    buffer: &mut Vec<u8>,
) -> Result<Option<T>, FrameError>
where
    T: DeserializeOwned,
    R: AsyncRead + Unpin,
{
    let mut length = [0u8; LENGTH_BYTES];
    let received = read_full(reader, &mut length).await?;
    if received == 0 {
        return Ok(None);
    }
    if received < LENGTH_BYTES {
        return Err(FrameError::Truncated {
            expected: LENGTH_BYTES,
            received,
        });
    }
    let bytes = u32::from_be_bytes(length);
    if bytes as usize > limit {
        return Err(FrameError::TooLarge {
            bytes: u64::from(bytes),
            limit,
        });
    }
    buffer.clear();
    buffer.resize(bytes as usize, 0);
    let received = read_full(reader, buffer).await?;
    if received < buffer.len() {
        return Err(FrameError::Truncated {
            expected: LENGTH_BYTES + buffer.len(),
            received: LENGTH_BYTES + received,
        });
    }
    decode(buffer).map(Some)
}

/// Reads until `buffer` is full or the stream ends; returns how many bytes arrived.
async fn read_full<R: AsyncRead + Unpin>(
    reader: &mut R,
    buffer: &mut [u8],
) -> Result<usize, FrameError> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]).await {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FrameError::Io(e)),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::block_on;
    use proptest::prelude::*;

    type TestFrame = Frame<Vec<String>, (String, u64), Option<String>>;

    fn read_all(bytes: &[u8], limit: usize) -> Vec<Result<Option<TestFrame>, String>> {
        block_on(async {
            let mut reader = bytes;
            let mut buffer = Vec::new();
            let mut out = Vec::new();
            loop {
                match read_frame::<TestFrame, _>(&mut reader, limit, &mut buffer).await {
                    Ok(Some(frame)) => out.push(Ok(Some(frame))),
                    Ok(None) => {
                        out.push(Ok(None));
                        return out;
                    }
                    Err(e) => {
                        out.push(Err(e.to_string()));
                        return out;
                    }
                }
            }
        })
    }

    fn request() -> TestFrame {
        Frame::Request {
            request: RequestId {
                client: ProcessId(4),
                sequence: 9,
            },
            operation: ("write".into(), 7),
        }
    }

    #[test]
    fn frames_round_trip_back_to_back() {
        let frames = [
            Frame::Hello { from: ProcessId(2) },
            Frame::Message(vec!["a".into(), "b".into()]),
            request(),
            Frame::Reply {
                request: RequestId {
                    client: ProcessId(4),
                    sequence: 9,
                },
                reply: None,
            },
        ];
        let bytes: Vec<u8> = frames.iter().flat_map(|f| encode(f).unwrap()).collect();
        let read = read_all(&bytes, FRAME_BYTES_MAX);
        assert_eq!(read.len(), frames.len() + 1);
        for (frame, got) in frames.iter().zip(&read) {
            assert_eq!(got.as_ref().unwrap().as_ref(), Some(frame));
        }
    }

    #[test]
    fn bad_frames_are_errors_that_say_why() {
        let good = encode(&request()).unwrap();
        let mut oversize = u32::MAX.to_be_bytes().to_vec();
        oversize.extend_from_slice(&[0; 16]);
        let mut trailing = good.clone();
        trailing.push(0);
        let length = (good.len() - LENGTH_BYTES + 1) as u32;
        trailing[..LENGTH_BYTES].copy_from_slice(&length.to_be_bytes());
        // (bytes, limit, what the error says)
        let table: [(&[u8], usize, &str); 6] = [
            (&oversize, FRAME_BYTES_MAX, "limit is 1048576"),
            (&good, 4, "limit is 4"),
            (&good[..good.len() - 1], FRAME_BYTES_MAX, "inside a frame"),
            (&good[..2], FRAME_BYTES_MAX, "2 of 4 bytes"),
            (&[0, 0, 0, 2, 0xff, 0xff], FRAME_BYTES_MAX, "undecodable"),
            (&trailing, FRAME_BYTES_MAX, "1 bytes left"),
        ];
        for (bytes, limit, expected) in table {
            let read = read_all(bytes, limit);
            let error = read.last().unwrap().as_ref().unwrap_err();
            assert!(error.contains(expected), "{bytes:?}: {error}");
        }
    }

    proptest! {
        #[test]
        fn any_bytes_end_in_frames_or_an_error_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let read = read_all(&bytes, 64);
            prop_assert!(!read.is_empty());
        }

        #[test]
        fn a_cut_frame_is_truncated_wherever_it_is_cut(cut in 1usize..30) {
            let good = encode(&request()).unwrap();
            let cut = cut.min(good.len() - 1);
            let read = read_all(&good[..cut], FRAME_BYTES_MAX);
            let error = read.last().unwrap().as_ref().unwrap_err();
            prop_assert!(error.contains("inside a frame"), "{}", error);
        }
    }
}
