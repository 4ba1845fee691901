//! The ente's logo: a PNG turned into a PDF image XObject.
//!
//! Opaque PNGs (gray, RGB, palette; not interlaced) keep their compressed IDAT data (inflated
//! once to check it holds the rows the header promises), which PDF reads directly with
//! `/FlateDecode` and `/DecodeParms << /Predictor 15 >>`. PNGs with an alpha channel (8-bit
//! gray+alpha, RGBA) are inflated and unfiltered once, split into colour and a soft mask, and
//! deflated again. Prepared logos are cached by content, since a batch uses one
//! logo for thousands of notices. 16-bit and interlaced PNGs are refused.

use std::sync::{Arc, Mutex};

use crate::NoticeError;

/// An image ready to be written as a PDF XObject.
#[derive(Debug)]
pub(crate) struct Image {
    pub width: u32,
    pub height: u32,
    /// The XObject dictionary entries other than `/Length` and `/SMask`.
    pub dict: String,
    /// Flate-compressed samples.
    pub data: Vec<u8>,
    /// Flate-compressed 8-bit alpha samples, with `/Width` and `/Height` as the image.
    pub smask: Option<Vec<u8>>,
}

const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
const CACHE_SIZE: usize = 8;

type Cache = Mutex<Vec<(Arc<Vec<u8>>, Arc<Image>)>>;
static CACHE: Cache = Mutex::new(Vec::new());

fn bad(what: impl Into<String>) -> NoticeError {
    NoticeError::Logo(what.into())
}

/// The image for `png`, from the cache when the same bytes were prepared before.
pub(crate) fn prepare(png: &[u8]) -> Result<Arc<Image>, NoticeError> {
    if let Ok(cache) = CACHE.lock()
        && let Some((_, image)) = cache.iter().find(|(bytes, _)| bytes.as_slice() == png)
    {
        return Ok(Arc::clone(image));
    }
    let image = Arc::new(decode(png)?);
    if let Ok(mut cache) = CACHE.lock() {
        if cache.len() >= CACHE_SIZE {
            cache.remove(0);
        }
        cache.push((Arc::new(png.to_vec()), Arc::clone(&image)));
    }
    Ok(image)
}

fn be32(bytes: &[u8], at: usize) -> Result<u32, NoticeError> {
    bytes
        .get(at..at + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_be_bytes)
        .ok_or_else(|| bad("truncated PNG"))
}

fn decode(png: &[u8]) -> Result<Image, NoticeError> {
    if !png.starts_with(SIGNATURE) {
        return Err(bad("not a PNG file"));
    }
    let mut at = SIGNATURE.len();
    let mut header = None;
    let mut palette: Option<&[u8]> = None;
    let mut idat = Vec::new();
    loop {
        let len = be32(png, at)? as usize;
        let kind = png
            .get(at + 4..at + 8)
            .ok_or_else(|| bad("truncated PNG"))?;
        let body = png
            .get(at + 8..at + 8 + len)
            .ok_or_else(|| bad("truncated PNG chunk"))?;
        match kind {
            b"IHDR" => header = Some(body),
            b"PLTE" => palette = Some(body),
            b"IDAT" => idat.extend_from_slice(body),
            b"IEND" => break,
            _ => {}
        }
        at += 12 + len;
    }
    let header = header
        .filter(|h| h.len() == 13)
        .ok_or_else(|| bad("PNG without a valid IHDR"))?;
    let width = be32(header, 0)?;
    let height = be32(header, 4)?;
    let (depth, color, interlace) = (header[8], header[9], header[12]);
    if width == 0 || height == 0 || width > 4096 || height > 4096 {
        return Err(bad(format!("PNG of {width}×{height} pixels")));
    }
    if interlace != 0 {
        return Err(bad("interlaced PNGs are not supported"));
    }
    if idat.is_empty() {
        return Err(bad("PNG without image data"));
    }
    let predictor = |colors: u8, bits: u8| {
        format!(
            "/DecodeParms << /Predictor 15 /Colors {colors} /BitsPerComponent {bits} /Columns {width} >>"
        )
    };
    let base = |space: &str, bits: u8| {
        format!(
            "/Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace {space} /BitsPerComponent {bits} /Filter /FlateDecode"
        )
    };
    if matches!(color, 0 | 2 | 3) {
        let channels = if color == 2 { 3 } else { 1 };
        check_rows(
            &idat,
            (width as usize * channels * usize::from(depth)).div_ceil(8),
            height as usize,
        )?;
    }
    match (color, depth) {
        (0, 1 | 2 | 4 | 8) => Ok(Image {
            width,
            height,
            dict: format!("{} {}", base("/DeviceGray", depth), predictor(1, depth)),
            data: idat,
            smask: None,
        }),
        (2, 8) => Ok(Image {
            width,
            height,
            dict: format!("{} {}", base("/DeviceRGB", 8), predictor(3, 8)),
            data: idat,
            smask: None,
        }),
        (3, 1 | 2 | 4 | 8) => {
            let palette = palette
                .filter(|p| !p.is_empty() && p.len() % 3 == 0 && p.len() <= 768)
                .ok_or_else(|| bad("palette PNG without a valid PLTE"))?;
            let mut hex = String::with_capacity(palette.len() * 2);
            for b in palette {
                hex.push_str(&format!("{b:02X}"));
            }
            let space = format!("[/Indexed /DeviceRGB {} <{hex}>]", palette.len() / 3 - 1);
            Ok(Image {
                width,
                height,
                dict: format!("{} {}", base(&space, depth), predictor(1, depth)),
                data: idat,
                smask: None,
            })
        }
        (4 | 6, 8) => {
            let channels = if color == 4 { 2 } else { 4 };
            let pixels = unfilter(&idat, width as usize, height as usize, channels)?;
            let colors = channels - 1;
            let mut samples = Vec::with_capacity(pixels.len() / channels * colors);
            let mut alpha = Vec::with_capacity(pixels.len() / channels);
            for px in pixels.chunks_exact(channels) {
                samples.extend_from_slice(&px[..colors]);
                alpha.push(px[colors]);
            }
            let space = if colors == 1 {
                "/DeviceGray"
            } else {
                "/DeviceRGB"
            };
            Ok(Image {
                width,
                height,
                dict: base(space, 8),
                data: miniz_oxide::deflate::compress_to_vec_zlib(&samples, 6),
                smask: Some(miniz_oxide::deflate::compress_to_vec_zlib(&alpha, 6)),
            })
        }
        _ => Err(bad(format!(
            "PNG colour type {color} with bit depth {depth} is not supported"
        ))),
    }
}

/// Checks that IDAT data passed through as is inflates to `height` rows of `stride` bytes, each
/// after a valid filter byte: a PDF viewer would otherwise show a broken logo, or none.
fn check_rows(idat: &[u8], stride: usize, height: usize) -> Result<(), NoticeError> {
    let expected = (stride + 1) * height;
    let raw = miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(idat, expected)
        .map_err(|e| bad(format!("PNG data does not inflate: {e:?}")))?;
    if raw.len() != expected {
        return Err(bad("PNG data has the wrong length"));
    }
    if raw.iter().step_by(stride + 1).any(|&filter| filter > 4) {
        return Err(bad("PNG row with an unknown filter"));
    }
    Ok(())
}

/// Inflates IDAT data and undoes the per-row PNG filters of 8-bit samples.
fn unfilter(
    idat: &[u8],
    width: usize,
    height: usize,
    channels: usize,
) -> Result<Vec<u8>, NoticeError> {
    let stride = width * channels;
    let expected = (stride + 1) * height;
    let raw = miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(idat, expected)
        .map_err(|e| bad(format!("PNG data does not inflate: {e:?}")))?;
    if raw.len() != expected {
        return Err(bad("PNG data has the wrong length"));
    }
    let mut out = vec![0u8; stride * height];
    for y in 0..height {
        let filter = raw[y * (stride + 1)];
        let src = &raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)];
        let (done, rest) = out.split_at_mut(y * stride);
        let prev = if y == 0 {
            None
        } else {
            Some(&done[(y - 1) * stride..])
        };
        let row = &mut rest[..stride];
        for x in 0..stride {
            let a = if x >= channels { row[x - channels] } else { 0 };
            let b = prev.map_or(0, |p| p[x]);
            let c = if x >= channels {
                prev.map_or(0, |p| p[x - channels])
            } else {
                0
            };
            let predicted = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                4 => paeth(a, b, c),
                other => return Err(bad(format!("PNG row filter {other}"))),
            };
            row[x] = src[x].wrapping_add(predicted);
        }
    }
    Ok(out)
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn chunk(out: &mut Vec<u8>, kind: &[u8], body: &[u8]) {
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        let mut crc_input = kind.to_vec();
        crc_input.extend_from_slice(body);
        out.extend_from_slice(&crc_input);
        out.extend_from_slice(&crate::zip::crc32(&crc_input).to_be_bytes());
    }

    /// A PNG of `width`×`height` 8-bit pixels of `color` type (0 gray, 2 RGB, 4 gray+alpha, 6
    /// RGBA), every row with the Sub filter so unfiltering is exercised.
    pub(crate) fn make_png(width: u32, height: u32, color: u8) -> Vec<u8> {
        let channels = match color {
            0 => 1,
            2 => 3,
            4 => 2,
            _ => 4,
        };
        let mut raw = Vec::new();
        for y in 0..height {
            raw.push(1);
            let mut prev = vec![0u8; channels];
            for x in 0..width {
                for (ch, p) in prev.iter_mut().enumerate() {
                    let v = ((x * 7 + y * 3 + ch as u32 * 50) % 256) as u8;
                    raw.push(v.wrapping_sub(*p));
                    *p = v;
                }
            }
        }
        let mut png = SIGNATURE.to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, color, 0, 0, 0]);
        chunk(&mut png, b"IHDR", &ihdr);
        chunk(
            &mut png,
            b"IDAT",
            &miniz_oxide::deflate::compress_to_vec_zlib(&raw, 6),
        );
        chunk(&mut png, b"IEND", &[]);
        png
    }

    #[test]
    fn rgba_pngs_are_split_into_colour_and_alpha() {
        let image = decode(&make_png(5, 3, 6)).expect("decodes");
        let samples = miniz_oxide::inflate::decompress_to_vec_zlib(&image.data).expect("inflates");
        let alpha =
            miniz_oxide::inflate::decompress_to_vec_zlib(image.smask.as_deref().expect("mask"))
                .expect("inflates");
        assert_eq!(samples.len(), 5 * 3 * 3);
        assert_eq!(alpha.len(), 5 * 3);
        // Pixel (x=2, y=1): channel values (x*7 + y*3 + ch*50) % 256.
        let px = (5 + 2) * 3;
        assert_eq!(&samples[px..px + 3], &[17, 67, 117]);
        assert_eq!(alpha[5 + 2], 167);
    }

    #[test]
    fn opaque_pngs_keep_their_data_with_a_predictor() {
        let png = make_png(4, 4, 2);
        let image = decode(&png).expect("decodes");
        assert!(image.dict.contains("/Predictor 15 /Colors 3"));
        assert!(image.smask.is_none());
    }

    proptest::proptest! {
        /// Damaged PNGs are errors, never panics.
        #[test]
        fn damaged_pngs_do_not_panic(at in 8usize..200, byte in proptest::num::u8::ANY, cut in 8usize..400) {
            for color in [0, 2, 4, 6] {
                let mut png = make_png(7, 5, color);
                if at < png.len() {
                    png[at] = byte;
                }
                png.truncate(cut);
                let _ = decode(&png);
            }
        }
    }

    #[test]
    fn what_is_not_a_supported_png_is_an_error() {
        assert!(decode(b"GIF89a").is_err());
        let mut png = make_png(4, 4, 2);
        png.truncate(40);
        assert!(decode(&png).is_err());
        // An opaque PNG whose image data is one row short.
        let mut short = make_png(4, 4, 2);
        let ihdr_height = SIGNATURE.len() + 8 + 4;
        short[ihdr_height + 3] = 5;
        assert!(decode(&short).is_err());
        let mut sixteen = make_png(2, 2, 2);
        sixteen[SIGNATURE.len() + 8 + 8] = 16; // IHDR bit depth
        assert!(decode(&sixteen).is_err());
    }
}
