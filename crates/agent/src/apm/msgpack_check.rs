//! A structural check of a msgpack body before it is decoded.
//!
//! libdatadog's decoders reserve memory for the element count an array header declares, so a
//! five-byte body declaring four billion traces would make the receiver abort on allocation.
//! This walk reads every header once, without allocating, and refuses a container that
//! declares more elements than bytes remain (each element takes at least one byte), a
//! truncated value, or a reserved marker, naming the byte offset. It is iterative, so deep
//! nesting cannot overflow the stack.

use thiserror::Error;

/// Why a msgpack body is malformed, and where.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("malformed msgpack at byte {offset}: {message}")]
pub struct MsgpackError {
    /// The byte offset of the offending header.
    pub offset: usize,
    /// What is wrong there.
    pub message: String,
}

/// The deepest nesting accepted; trace payloads need five levels.
const MAX_DEPTH: usize = 64;

/// Checks that `body` is exactly one well-formed msgpack value whose declared lengths fit in it.
pub fn check(body: &[u8]) -> Result<(), MsgpackError> {
    let mut pos = 0usize;
    // Values still to read in each open container; the body itself is one value.
    let mut pending: Vec<u64> = vec![1];
    while let Some(top) = pending.last_mut() {
        if *top == 0 {
            pending.pop();
            continue;
        }
        *top -= 1;
        let at = pos;
        let fail = |message: String| MsgpackError { offset: at, message };
        let marker = *body
            .get(pos)
            .ok_or_else(|| fail("the body ends where a value was expected".into()))?;
        pos += 1;
        let (skip, children): (u64, u64) = match marker {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (0, 0),
            0x80..=0x8f => (0, u64::from(marker & 0x0f) * 2),
            0x90..=0x9f => (0, u64::from(marker & 0x0f)),
            0xa0..=0xbf => (u64::from(marker & 0x1f), 0),
            0xc1 => return Err(fail("0xc1 is not a msgpack value (reserved marker)".into())),
            0xc4 | 0xd9 => (read_len(body, &mut pos, 1).map_err(fail)?, 0),
            0xc5 | 0xda => (read_len(body, &mut pos, 2).map_err(fail)?, 0),
            0xc6 | 0xdb => (read_len(body, &mut pos, 4).map_err(fail)?, 0),
            0xc7 => (read_len(body, &mut pos, 1).map_err(fail)? + 1, 0),
            0xc8 => (read_len(body, &mut pos, 2).map_err(fail)? + 1, 0),
            0xc9 => (read_len(body, &mut pos, 4).map_err(fail)? + 1, 0),
            0xca => (4, 0),
            0xcb => (8, 0),
            0xcc | 0xd0 => (1, 0),
            0xcd | 0xd1 => (2, 0),
            0xce | 0xd2 => (4, 0),
            0xcf | 0xd3 => (8, 0),
            0xd4 => (2, 0),
            0xd5 => (3, 0),
            0xd6 => (5, 0),
            0xd7 => (9, 0),
            0xd8 => (17, 0),
            0xdc => (0, read_len(body, &mut pos, 2).map_err(fail)?),
            0xdd => (0, read_len(body, &mut pos, 4).map_err(fail)?),
            0xde => (0, read_len(body, &mut pos, 2).map_err(fail)? * 2),
            0xdf => (0, read_len(body, &mut pos, 4).map_err(fail)? * 2),
        };
        let remaining = (body.len() - pos) as u64;
        if skip > remaining {
            return Err(fail(format!(
                "a value of {skip} bytes is declared but only {remaining} bytes remain"
            )));
        }
        pos += skip as usize;
        if children > 0 {
            if pending.len() > MAX_DEPTH {
                return Err(fail(format!("values are nested deeper than {MAX_DEPTH} levels")));
            }
            if children > remaining {
                return Err(fail(format!(
                    "a container of {children} elements is declared but only {remaining} bytes remain"
                )));
            }
            pending.push(children);
        }
    }
    if pos != body.len() {
        return Err(MsgpackError {
            offset: pos,
            message: format!("{} trailing bytes follow the payload", body.len() - pos),
        });
    }
    Ok(())
}

/// Reads a big-endian length of `width` bytes at `pos`.
fn read_len(body: &[u8], pos: &mut usize, width: usize) -> Result<u64, String> {
    let bytes = body
        .get(*pos..*pos + width)
        .ok_or_else(|| "the body ends inside a length".to_string())?;
    *pos += width;
    Ok(bytes.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_values_pass() {
        let value = vec![vec![("a", 1u64), ("bb", u64::MAX)]];
        let body = rmp_serde::to_vec(&value).unwrap();
        assert_eq!(check(&body), Ok(()));
        assert_eq!(check(b"\x90"), Ok(()));
    }

    #[test]
    fn declared_lengths_past_the_body_are_refused_with_their_offset() {
        let err = check(b"\x91\xdd\xff\xff\xff\xff").unwrap_err();
        assert_eq!(err.offset, 1);
        assert!(err.message.contains("4294967295 elements"), "{}", err.message);
        assert_eq!(check(b"\xdb\x00\x00\x10\x00ab").unwrap_err().offset, 0);
    }

    #[test]
    fn truncated_reserved_and_trailing_bytes_are_refused() {
        assert!(check(b"").is_err());
        assert!(check(b"\x92\x01").is_err());
        assert_eq!(check(b"\x91\xc1").unwrap_err().offset, 1);
        assert_eq!(
            check(b"\x90\x90").unwrap_err().message,
            "1 trailing bytes follow the payload"
        );
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        let body = vec![0x91u8; 1_000_000];
        assert!(check(&body).unwrap_err().message.contains("nested deeper"));
    }
}
