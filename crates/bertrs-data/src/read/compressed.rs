//! `.gz` and `.bz2` input: a decompressor that reports where a corrupt stream broke.

use std::io::Read;

/// A decompressor that counts what it has produced, so a corrupt or cut-off stream is
/// reported at the line and byte it reached (the readers above see only an I/O error).
pub(super) struct Decompressed<R> {
    kind: &'static str,
    inner: R,
    bytes: u64,
    lines: u64,
}

impl<R> Decompressed<R> {
    pub(super) fn new(kind: &'static str, inner: R) -> Self {
        Self { kind, inner, bytes: 0, lines: 0 }
    }
}

impl<R: Read> Read for Decompressed<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.bytes += n as u64;
                self.lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
                Ok(n)
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Err(e),
            Err(e) => Err(std::io::Error::new(
                e.kind(),
                CorruptStream { kind: self.kind, line: self.lines + 1, bytes: self.bytes, message: e.to_string() },
            )),
        }
    }
}

/// Where a compressed stream broke.
#[derive(Debug)]
pub(super) struct CorruptStream {
    kind: &'static str,
    pub(super) line: u64,
    bytes: u64,
    message: String,
}

impl std::fmt::Display for CorruptStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "corrupt {} data after {} decompressed bytes: {}", self.kind, self.bytes, self.message)
    }
}

impl std::error::Error for CorruptStream {}
