//! A small ZIP archive writer for batches of notices: stored or deflated entries with CRC-32,
//! no ZIP64 (at most 65,535 entries and 4 GiB), UTF-8 names.

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
    offset: u32,
}

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
        format!("zip: {what} needs ZIP64, which this writer does not write"),
    )
}

impl<W: Write> ZipWriter<W> {
    /// A writer that deflates entries when that makes them smaller.
    pub fn new(out: W) -> Self {
        Self::with_compression(out, Compression::Deflate)
    }

    /// A writer with the given compression for every entry.
    pub fn with_compression(out: W, compression: Compression) -> Self {
        ZipWriter {
            out,
            written: 0,
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
        if self.entries.len() >= usize::from(u16::MAX) {
            return Err(too_big("more than 65,535 entries"));
        }
        let size = u32::try_from(bytes.len()).map_err(|_| too_big("an entry over 4 GiB"))?;
        let offset = u32::try_from(self.written).map_err(|_| too_big("an archive over 4 GiB"))?;
        let crc = crc32(bytes);
        let deflated = match self.compression {
            Compression::Deflate => Some(miniz_oxide::deflate::compress_to_vec(bytes, 6)),
            Compression::Store => None,
        };
        let (method, data): (u16, &[u8]) = match &deflated {
            Some(d) if d.len() < bytes.len() => (8, d),
            _ => (0, bytes),
        };
        let compressed = u32::try_from(data.len()).map_err(|_| too_big("an entry over 4 GiB"))?;
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

    /// Writes the central directory and returns the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        let start = u32::try_from(self.written).map_err(|_| too_big("an archive over 4 GiB"))?;
        let entries = std::mem::take(&mut self.entries);
        for e in &entries {
            let mut rec = Vec::with_capacity(46 + e.name.len());
            rec.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            rec.extend_from_slice(&((3u16 << 8) | 20).to_le_bytes()); // made by: Unix, 2.0
            rec.extend_from_slice(&20u16.to_le_bytes());
            rec.extend_from_slice(&UTF8_NAMES.to_le_bytes());
            rec.extend_from_slice(&e.method.to_le_bytes());
            rec.extend_from_slice(&DOS_TIME.to_le_bytes());
            rec.extend_from_slice(&DOS_DATE.to_le_bytes());
            rec.extend_from_slice(&e.crc.to_le_bytes());
            rec.extend_from_slice(&e.compressed.to_le_bytes());
            rec.extend_from_slice(&e.size.to_le_bytes());
            rec.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
            rec.extend_from_slice(&[0; 8]); // extra, comment, disk number, internal attributes
            rec.extend_from_slice(&(0o100_644u32 << 16).to_le_bytes()); // external: -rw-r--r--
            rec.extend_from_slice(&e.offset.to_le_bytes());
            rec.extend_from_slice(&e.name);
            self.put(&rec)?;
        }
        let size = u32::try_from(self.written - u64::from(start))
            .map_err(|_| too_big("a directory over 4 GiB"))?;
        let count = entries.len() as u16;
        let mut end = Vec::with_capacity(22);
        end.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        end.extend_from_slice(&[0; 4]); // this disk, disk with the directory
        end.extend_from_slice(&count.to_le_bytes());
        end.extend_from_slice(&count.to_le_bytes());
        end.extend_from_slice(&size.to_le_bytes());
        end.extend_from_slice(&start.to_le_bytes());
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
