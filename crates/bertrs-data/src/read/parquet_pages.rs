//! The page headers of a column chunk, walked before the parquet crate reads them, so a
//! hostile header costs work in proportion to its bytes.
//!
//! The parquet crate (60.1) reads a page header with a Thrift compact-protocol reader over
//! `std::io::Read` whose skipper never fails at the end of the input (`skip_bytes` is an
//! `io::copy` of at most `n` bytes) and skips boolean list elements without reading a byte.
//! A header field that claims a list of 2^31 doubles or booleans is then skipped element by
//! element, each step zeroing an 8 KB copy buffer: a 1 KB file took 40 s (the `parquet_rows`
//! fuzz target; `fuzz/regressions/parquet_rows/page_header_skip_bomb`).
//!
//! This walk reads the same bytes the same way (`PageHeader::read_thrift_without_stats` and
//! `skip_till_depth` of `parquet/src/file/metadata/thrift/mod.rs` and `parquet_thrift.rs`:
//! fields 1–8 of the page header and of its data, index and dictionary headers read by id,
//! every other field skipped by its wire type), but refuses a header that runs past its
//! column chunk, and counts every element and field it steps over against the chunk's
//! length: a real header never takes more steps than it has bytes. Where this walk accepts
//! a header, the parquet crate does the same steps over the same bytes.

use std::io::Read;

/// Where a walk failed: the byte offset of the page header in the file, and why.
pub(super) struct BadHeader {
    pub offset: u64,
    pub message: String,
}

/// Walks every page header of the chunk at `start..start + len` of `file` (`open(offset)`
/// reads the file from `offset`), as the parquet crate's `SerializedPageReader` steps from
/// one page to the next.
pub(super) fn check_chunk<R: Read>(
    mut open: impl FnMut(u64) -> std::io::Result<R>,
    start: u64,
    len: u64,
) -> Result<(), BadHeader> {
    let (mut offset, mut remaining) = (start, len);
    while remaining > 0 {
        let bad = |message: String| BadHeader { offset, message };
        let reader = open(offset).map_err(|e| bad(format!("cannot be read: {e}")))?;
        let mut header = Header {
            input: reader,
            left: remaining,
            steps: remaining,
        };
        let sizes = header.page_header().map_err(|e| bad(e.to_string()))?;
        let header_len = remaining - header.left;
        let (compressed, uncompressed) = (
            sizes.compressed.unwrap_or(-1),
            sizes.uncompressed.unwrap_or(-1),
        );
        // `verify_page_size` in the parquet crate: the page's data lies in what is left of the chunk.
        if compressed < 0 || uncompressed < 0 || compressed as u64 > header.left {
            return Err(bad(format!(
                "the page header claims {compressed} compressed / {uncompressed} uncompressed bytes with {} bytes left in the column chunk",
                header.left
            )));
        }
        offset += header_len + compressed as u64;
        remaining = header.left - compressed as u64;
    }
    Ok(())
}

/// The sizes of a page header that say where the next page starts.
#[derive(Default)]
struct Sizes {
    uncompressed: Option<i64>,
    compressed: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
enum Corrupt {
    #[error("the page header runs past the end of its column chunk")]
    PastChunk,
    #[error(
        "the page header takes more steps than its column chunk has bytes (a list or map claims more elements than it holds)"
    )]
    TooManySteps,
    #[error("the page header nests deeper than 64 levels")]
    TooDeep,
    #[error("the page header has a field of unknown type {0}")]
    UnknownType(u8),
    #[error("the page header has a collection of {0} elements")]
    BadSize(u64),
    #[error("the page header cannot be read: {0}")]
    Io(#[from] std::io::Error),
}

/// Thrift compact-protocol wire types (`FieldType` in `parquet_thrift.rs`).
const STOP: u8 = 0;
const BOOL_TRUE: u8 = 1;
const BOOL_FALSE: u8 = 2;
const BYTE: u8 = 3;
const I16: u8 = 4;
const I32: u8 = 5;
const I64: u8 = 6;
const DOUBLE: u8 = 7;
const BINARY: u8 = 8;
const LIST: u8 = 9;
const SET: u8 = 10;
const MAP: u8 = 11;
const STRUCT: u8 = 12;
const UUID: u8 = 13;

/// The parquet crate's `DEFAULT_SKIP_DEPTH`.
const SKIP_DEPTH: u8 = 64;

struct Header<R> {
    input: R,
    /// Bytes of the column chunk not yet read.
    left: u64,
    /// Steps still allowed (starts at the chunk's remaining bytes).
    steps: u64,
}

impl<R: Read> Header<R> {
    fn step(&mut self) -> Result<(), Corrupt> {
        self.steps = self.steps.checked_sub(1).ok_or(Corrupt::TooManySteps)?;
        Ok(())
    }

    fn byte(&mut self) -> Result<u8, Corrupt> {
        self.left = self.left.checked_sub(1).ok_or(Corrupt::PastChunk)?;
        let mut b = [0u8];
        self.input.read_exact(&mut b)?;
        Ok(b[0])
    }

    fn skip_bytes(&mut self, n: u64) -> Result<(), Corrupt> {
        self.left = self.left.checked_sub(n).ok_or(Corrupt::PastChunk)?;
        let copied = std::io::copy(&mut self.input.by_ref().take(n), &mut std::io::sink())?;
        if copied < n {
            return Err(Corrupt::PastChunk);
        }
        Ok(())
    }

    /// `read_vlq`: an unsigned LEB128 varint (bits past 64 dropped, as the parquet crate's
    /// `wrapping_shl` drops them).
    fn varint(&mut self) -> Result<u64, Corrupt> {
        let (mut value, mut shift) = (0u64, 0u32);
        loop {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
            if b & 0x80 == 0 {
                return Ok(value);
            }
            shift = shift.saturating_add(7);
        }
    }

    /// `read_zig_zag`.
    fn zigzag(&mut self) -> Result<i64, Corrupt> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    /// `read_field_begin`: `(wire type, field id)`, `STOP` ends the struct.
    fn field(&mut self, last: i16) -> Result<(u8, i16), Corrupt> {
        self.step()?;
        let b = self.byte()?;
        let kind = b & 0x0f;
        if kind == STOP {
            return Ok((STOP, 0));
        }
        if kind > UUID {
            return Err(Corrupt::UnknownType(kind));
        }
        let delta = b >> 4;
        // A full id is an i16 read as a zig-zag varint; an overflowing delta fails there too.
        let id = if delta != 0 {
            last.checked_add(i16::from(delta))
                .ok_or(Corrupt::UnknownType(kind))?
        } else {
            self.zigzag()? as i16
        };
        Ok((kind, id))
    }

    /// A struct whose fields are all skipped by type (`IndexPageHeader`, or an unknown one).
    fn skip_struct(&mut self, depth: u8) -> Result<(), Corrupt> {
        self.read_struct(|h, _, kind| h.skip(kind, depth - 1))
    }

    /// Reads a struct's fields until STOP; `field(self, id, kind)` consumes each.
    fn read_struct(
        &mut self,
        mut field: impl FnMut(&mut Self, i16, u8) -> Result<(), Corrupt>,
    ) -> Result<(), Corrupt> {
        let mut last = 0i16;
        loop {
            let (kind, id) = self.field(last)?;
            if kind == STOP {
                return Ok(());
            }
            field(self, id, kind)?;
            last = id;
        }
    }

    /// `skip_till_depth`.
    fn skip(&mut self, kind: u8, depth: u8) -> Result<(), Corrupt> {
        if depth == 0 {
            return Err(Corrupt::TooDeep);
        }
        self.step()?;
        match kind {
            BOOL_TRUE | BOOL_FALSE => Ok(()),
            BYTE => self.byte().map(drop),
            I16 | I32 | I64 => self.varint().map(drop),
            DOUBLE => self.skip_bytes(8),
            BINARY => {
                let n = self.varint()?;
                self.skip_bytes(n)
            }
            STRUCT => self.skip_struct(depth),
            LIST | SET => {
                let b = self.byte()?;
                if b == 0 {
                    return Ok(());
                }
                let element = element_type(b & 0x0f)?;
                let size = if b >> 4 != 15 {
                    u64::from(b >> 4)
                } else {
                    self.varint()?
                };
                if size > i32::MAX as u64 {
                    return Err(Corrupt::BadSize(size));
                }
                (0..size).try_for_each(|_| self.skip(element, depth - 1))
            }
            MAP => {
                let size = self.varint()?;
                if size > i32::MAX as u64 {
                    return Err(Corrupt::BadSize(size));
                }
                if size == 0 {
                    return Ok(());
                }
                let kv = self.byte()?;
                let (key, value) = (element_type(kv >> 4)?, element_type(kv & 0x0f)?);
                (0..size).try_for_each(|_| {
                    self.skip(key, depth - 1)?;
                    self.skip(value, depth - 1)
                })
            }
            UUID => self.skip_bytes(16),
            other => Err(Corrupt::UnknownType(other)),
        }
    }

    /// `PageHeader::read_thrift_without_stats`: fields 1–4 are i32s (the page type too), 5–8
    /// the headers of each page kind, read field by field as the parquet crate reads them.
    fn page_header(&mut self) -> Result<Sizes, Corrupt> {
        let mut sizes = Sizes::default();
        self.read_struct(|h, id, kind| match id {
            1 | 4 => h.zigzag().map(drop),
            2 => {
                sizes.uncompressed = Some(i64::from(h.zigzag()? as i32));
                Ok(())
            }
            3 => {
                sizes.compressed = Some(i64::from(h.zigzag()? as i32));
                Ok(())
            }
            // `DataPageHeader`: 1–4 are i32s (encodings too), statistics (5) skipped.
            5 => h.read_struct(|h, id, kind| {
                if (1..=4).contains(&id) {
                    h.zigzag().map(drop)
                } else {
                    h.skip(kind, SKIP_DEPTH)
                }
            }),
            6 => h.skip_struct(SKIP_DEPTH + 1),
            // `DictionaryPageHeader`: 1–2 i32s, 3 a bool held in the field's type.
            7 => h.read_struct(|h, id, kind| match id {
                1 | 2 => h.zigzag().map(drop),
                3 => bool_field(kind),
                _ => h.skip(kind, SKIP_DEPTH),
            }),
            // `DataPageHeaderV2`: 1–6 i32s, 7 a bool, statistics (8) skipped.
            8 => h.read_struct(|h, id, kind| match id {
                1..=6 => h.zigzag().map(drop),
                7 => bool_field(kind),
                _ => h.skip(kind, SKIP_DEPTH),
            }),
            _ => h.skip(kind, SKIP_DEPTH),
        })?;
        Ok(sizes)
    }
}

/// `FieldIdentifier::bool_val`: a bool field's value is its wire type.
fn bool_field(kind: u8) -> Result<(), Corrupt> {
    match kind {
        BOOL_TRUE | BOOL_FALSE => Ok(()),
        other => Err(Corrupt::UnknownType(other)),
    }
}

/// `ElementType::try_from` then `FieldType::from`: the types a list, set or map may hold.
fn element_type(nibble: u8) -> Result<u8, Corrupt> {
    match nibble {
        BOOL_TRUE..=UUID => Ok(nibble),
        other => Err(Corrupt::UnknownType(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page header as the parquet crate writes it: type 0 (data page), uncompressed and
    /// compressed sizes (below 64: one varint byte), a data page header (num_values, encodings), then `extra` fields.
    fn header(compressed: u8, extra: &[u8]) -> Vec<u8> {
        let zz = |v: u8| v << 1;
        let mut h = vec![
            0x15,
            0,
            0x15,
            zz(compressed),
            0x15,
            zz(compressed),
            0x2c,
            0x15,
            zz(3),
            0x15,
            0,
            0x15,
            0,
            0x15,
            0,
            0,
        ];
        h.extend_from_slice(extra);
        h.push(0);
        h
    }

    fn walk(file: &[u8], len: u64) -> Result<(), String> {
        check_chunk(|at| Ok(&file[at as usize..]), 0, len)
            .map_err(|e| format!("@{}: {}", e.offset, e.message))
    }

    #[test]
    fn real_headers_walk_page_by_page() {
        let mut file = header(4, &[]);
        file.extend_from_slice(&[1, 2, 3, 4]);
        let first = file.len();
        // Unknown fields (id 9, a binary of 2 bytes; id 10, a list of two i32s) are skipped.
        file.extend(header(2, &[0x48, 2, b'x', b'y', 0x19, 0x25, 2, 4]));
        file.extend_from_slice(&[9, 9]);
        assert_eq!(walk(&file, file.len() as u64), Ok(()));
        // A chunk that ends inside the second header.
        let e = walk(&file, first as u64 + 3).unwrap_err();
        assert!(
            e.starts_with(&format!("@{first}:")) && e.contains("past the end"),
            "{e}"
        );
    }

    #[test]
    fn lists_that_claim_more_than_the_chunk_holds_are_refused() {
        // A list (field 9) of 2^31 - 1 booleans: no byte each in the parquet crate's skipper.
        let bools = header(0, &[0x49, 0xf1, 0xff, 0xff, 0xff, 0xff, 0x07]);
        let e = walk(&bools, bools.len() as u64).unwrap_err();
        assert!(
            e.contains("more steps than its column chunk has bytes"),
            "{e}"
        );
        // A list of 2^31 - 1 doubles at the end of the chunk.
        let doubles = header(0, &[0x49, 0xf7, 0xff, 0xff, 0xff, 0xff, 0x07]);
        let e = walk(&doubles, doubles.len() as u64).unwrap_err();
        assert!(
            e.contains("more steps") || e.contains("past the end"),
            "{e}"
        );
        // A page that claims more data than the chunk has left.
        let big = header(60, &[]);
        let e = walk(&big, big.len() as u64 + 10).unwrap_err();
        assert!(
            e.contains("60 compressed") && e.contains("10 bytes left"),
            "{e}"
        );
    }

    #[test]
    fn nesting_past_the_skip_depth_is_refused() {
        // Field 9: a struct holding a struct holding … 70 levels down.
        let mut extra = vec![0x4c];
        extra.extend(std::iter::repeat_n(0x1c, 70));
        extra.extend(std::iter::repeat_n(0, 71));
        let h = header(0, &extra);
        let e = walk(&h, h.len() as u64).unwrap_err();
        assert!(e.contains("deeper than 64"), "{e}");
    }
}
