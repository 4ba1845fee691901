//! A small ZIP archive writer for batches of notices: stored or deflated entries with CRC-32,
//! UTF-8 names, and ZIP64 (APPNOTE 4.3.14–4.3.16, 4.5.3) when the archive needs it: more than
//! 65,534 entries, or entries or a central directory beyond 4 GiB. The ZIP64 records are
//! written only then, so a small archive is a plain ZIP. One entry is still at most 4 GiB.

use std::io::{self, Write};

/// How an entry's data is kept in the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Deflated when that makes it smaller, stored otherwise.
    Deflate,
    /// Stored as is (PDFs whose streams are already compressed gain little).
    Store,
}

struct Entry {
    name: Vec<u8>,
    crc: u32,
    method: u16,
    compressed: u32,
    size: u32,
    offset: u64,
}

/// The value a 16- or 32-bit field holds when the real one is in a ZIP64 record.
const FULL16: u16 = u16::MAX;
const FULL32: u32 = u32::MAX;

/// Writes a ZIP archive to `W`, one entry at a time; call [`ZipWriter::finish`] to write the
/// central directory.
pub struct ZipWriter<W: Write> {
    out: W,
    written: u64,
    entries: Vec<Entry>,
    compression: Compression,
}

const DOS_TIME: u16 = 0; // 00:00:00
const DOS_DATE: u16 = (20 << 9) | (1 << 5) | 1; // 2000-01-01: entries carry no real timestamp
const UTF8_NAMES: u16 = 1 << 11;

fn too_big(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("zip: {what} is more than this writer writes"),
    )
}

impl<W: Write> ZipWriter<W> {
    /// A writer that deflates entries when that makes them smaller.
    pub fn new(out: W) -> Self {
        Self::with_compression(out, Compression::Deflate)
    }

    /// A writer with the given compression for every entry.
    pub fn with_compression(out: W, compression: Compression) -> Self {
        Self::after(out, compression, 0)
    }

    /// A writer whose archive starts after `offset` bytes already in `out` (a stub before
    /// the archive, as in a self-extracting one): offsets in the archive count from the
    /// start of `out`.
    pub fn after(out: W, compression: Compression, offset: u64) -> Self {
        ZipWriter {
            out,
            written: offset,
            entries: Vec::new(),
            compression,
        }
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Adds a file named `name` (a relative path with `/` separators) holding `bytes`.
    pub fn add(&mut self, name: &str, bytes: &[u8]) -> io::Result<()> {
        if name.is_empty() || name.starts_with('/') || name.len() > usize::from(u16::MAX) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("zip: bad entry name {name:?}"),
            ));
        }
        // An entry's sizes stay in the 32-bit fields of its local header (no ZIP64 there).
        let size = u32::try_from(bytes.len())
            .ok()
            .filter(|&s| s < FULL32)
            .ok_or_else(|| too_big("an entry of 4 GiB or more"))?;
        let offset = self.written;
        let crc = crc32(bytes);
        let deflated = match self.compression {
            Compression::Deflate => Some(miniz_oxide::deflate::compress_to_vec(bytes, 6)),
            Compression::Store => None,
        };
        let (method, data): (u16, &[u8]) = match &deflated {
            Some(d) if d.len() < bytes.len() => (8, d),
            _ => (0, bytes),
        };
        let compressed = u32::try_from(data.len())
            .ok()
            .filter(|&s| s < FULL32)
            .ok_or_else(|| too_big("an entry of 4 GiB or more"))?;
        let name = name.as_bytes().to_vec();
        let mut header = Vec::with_capacity(30 + name.len());
        header.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        header.extend_from_slice(&20u16.to_le_bytes()); // version needed: 2.0
        header.extend_from_slice(&UTF8_NAMES.to_le_bytes());
        header.extend_from_slice(&method.to_le_bytes());
        header.extend_from_slice(&DOS_TIME.to_le_bytes());
        header.extend_from_slice(&DOS_DATE.to_le_bytes());
        header.extend_from_slice(&crc.to_le_bytes());
        header.extend_from_slice(&compressed.to_le_bytes());
        header.extend_from_slice(&size.to_le_bytes());
        header.extend_from_slice(&(name.len() as u16).to_le_bytes());
        header.extend_from_slice(&0u16.to_le_bytes()); // extra field length
        header.extend_from_slice(&name);
        self.put(&header)?;
        self.put(data)?;
        self.entries.push(Entry {
            name,
            crc,
            method,
            compressed,
            size,
            offset,
        });
        Ok(())
    }

    /// Writes the central directory (and the ZIP64 end records when needed) and returns the
    /// underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        let start = self.written;
        let entries = std::mem::take(&mut self.entries);
        for e in &entries {
            // An offset past 4 GiB moves to the entry's ZIP64 extended information field.
            let far = e.offset >= u64::from(FULL32);
            let mut extra = Vec::new();
            if far {
                extra.extend_from_slice(&0x0001u16.to_le_bytes());
                extra.extend_from_slice(&8u16.to_le_bytes());
                extra.extend_from_slice(&e.offset.to_le_bytes());
            }
            let needed: u16 = if far { 45 } else { 20 };
            let mut rec = Vec::with_capacity(46 + e.name.len() + extra.len());
            rec.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            rec.extend_from_slice(&((3u16 << 8) | needed).to_le_bytes()); // made by: Unix
            rec.extend_from_slice(&needed.to_le_bytes());
            rec.extend_from_slice(&UTF8_NAMES.to_le_bytes());
            rec.extend_from_slice(&e.method.to_le_bytes());
            rec.extend_from_slice(&DOS_TIME.to_le_bytes());
            rec.extend_from_slice(&DOS_DATE.to_le_bytes());
            rec.extend_from_slice(&e.crc.to_le_bytes());
            rec.extend_from_slice(&e.compressed.to_le_bytes());
            rec.extend_from_slice(&e.size.to_le_bytes());
            rec.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
            rec.extend_from_slice(&(extra.len() as u16).to_le_bytes());
            rec.extend_from_slice(&[0; 6]); // comment, disk number, internal attributes
            rec.extend_from_slice(&(0o100_644u32 << 16).to_le_bytes()); // external: -rw-r--r--
            let offset = if far { FULL32 } else { e.offset as u32 };
            rec.extend_from_slice(&offset.to_le_bytes());
            rec.extend_from_slice(&e.name);
            rec.extend_from_slice(&extra);
            self.put(&rec)?;
        }
        let size = self.written - start;
        let count = entries.len() as u64;
        let zip64 =
            count >= u64::from(FULL16) || size >= u64::from(FULL32) || start >= u64::from(FULL32);
        if zip64 {
            let record = self.written;
            let mut end64 = Vec::with_capacity(56 + 20);
            end64.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
            end64.extend_from_slice(&44u64.to_le_bytes()); // size of the rest of the record
            end64.extend_from_slice(&((3u16 << 8) | 45).to_le_bytes()); // made by: Unix, 4.5
            end64.extend_from_slice(&45u16.to_le_bytes()); // version needed: 4.5
            end64.extend_from_slice(&[0; 8]); // this disk, disk with the directory
            end64.extend_from_slice(&count.to_le_bytes());
            end64.extend_from_slice(&count.to_le_bytes());
            end64.extend_from_slice(&size.to_le_bytes());
            end64.extend_from_slice(&start.to_le_bytes());
            // The locator of the ZIP64 end record.
            end64.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
            end64.extend_from_slice(&0u32.to_le_bytes()); // disk with the ZIP64 end record
            end64.extend_from_slice(&record.to_le_bytes());
            end64.extend_from_slice(&1u32.to_le_bytes()); // disks in all
            self.put(&end64)?;
        }
        // With ZIP64 every field of the classic end record defers to the ZIP64 one (as
        // Info-ZIP and Python write it); else they fit, as `zip64` is false.
        let (count16, size32, start32) = if zip64 {
            (FULL16, FULL32, FULL32)
        } else {
            (count as u16, size as u32, start as u32)
        };
        let mut end = Vec::with_capacity(22);
        end.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        end.extend_from_slice(&[0; 4]); // this disk, disk with the directory
        end.extend_from_slice(&count16.to_le_bytes());
        end.extend_from_slice(&count16.to_le_bytes());
        end.extend_from_slice(&size32.to_le_bytes());
        end.extend_from_slice(&start32.to_le_bytes());
        end.extend_from_slice(&0u16.to_le_bytes()); // comment length
        self.put(&end)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

const fn crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

static CRC_TABLE: [u32; 256] = crc_table();

/// CRC-32 (ISO-HDLC, the one ZIP and PNG use).
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in bytes {
        c = CRC_TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8);
    }
    c ^ 0xFFFF_FFFF
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn names_must_be_relative_and_non_empty() {
        let mut zip = ZipWriter::new(Vec::new());
        assert!(zip.add("", b"x").is_err());
        assert!(zip.add("/etc/passwd", b"x").is_err());
        assert!(zip.add("a/b.pdf", b"x").is_ok());
    }
}
