//! A QR code encoder for the notice's payload: byte mode, error correction level M, version 4
//! (33 × 33 modules), as pagoPA's notice standard fixes. The mask is chosen by the ISO/IEC
//! 18004 penalty rules. Version 4-M holds 62 bytes; a pagoPA payload has at most 53.
//!
//! Written here rather than taken from a crate because the general-purpose encoder we tried
//! spent about 1 ms per code choosing the mask, half the time of a whole notice.

use crate::NoticeError;

const VERSION: usize = 4;
/// Modules per side.
pub(crate) const SIZE: usize = 17 + 4 * VERSION;
const DATA_CODEWORDS: usize = 64;
const BLOCKS: usize = 2;
const EC_PER_BLOCK: usize = 18;
const ALIGNMENT: usize = 26;
/// Level M's two bits in the format information.
const EC_LEVEL_BITS: u32 = 0b00;

/// A square of modules, `true` for dark, row by row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QrMatrix {
    pub modules: Vec<bool>,
}

impl QrMatrix {
    pub(crate) fn dark(&self, x: usize, y: usize) -> bool {
        self.modules[y * SIZE + x]
    }
}

const fn gf_tables() -> ([u8; 256], [u8; 256]) {
    let mut exp = [0u8; 256];
    let mut log = [0u8; 256];
    let mut x: u32 = 1;
    let mut i = 0;
    while i < 255 {
        exp[i] = x as u8;
        log[x as usize] = i as u8;
        x <<= 1;
        if x & 0x100 != 0 {
            x ^= 0x11D;
        }
        i += 1;
    }
    exp[255] = exp[0];
    (exp, log)
}

static GF: ([u8; 256], [u8; 256]) = gf_tables();

fn gf_mul(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 {
        return 0;
    }
    let (exp, log) = &GF;
    exp[(usize::from(log[usize::from(a)]) + usize::from(log[usize::from(b)])) % 255]
}

/// The Reed–Solomon generator polynomial of degree `EC_PER_BLOCK`, highest coefficient
/// (always 1) dropped.
fn generator() -> [u8; EC_PER_BLOCK] {
    let mut poly = [0u8; EC_PER_BLOCK];
    poly[EC_PER_BLOCK - 1] = 1;
    let mut root = 1u8;
    for _ in 0..EC_PER_BLOCK {
        for j in 0..EC_PER_BLOCK {
            poly[j] = gf_mul(poly[j], root);
            if j + 1 < EC_PER_BLOCK {
                poly[j] ^= poly[j + 1];
            }
        }
        root = gf_mul(root, 0x02);
    }
    poly
}

fn ec_codewords(data: &[u8], generator: &[u8; EC_PER_BLOCK]) -> [u8; EC_PER_BLOCK] {
    let mut rem = [0u8; EC_PER_BLOCK];
    for &b in data {
        let factor = b ^ rem[0];
        rem.copy_within(1.., 0);
        rem[EC_PER_BLOCK - 1] = 0;
        for (r, &g) in rem.iter_mut().zip(generator) {
            *r ^= gf_mul(g, factor);
        }
    }
    rem
}

/// The interleaved data and error correction codewords for `payload` in byte mode.
fn codewords(payload: &[u8]) -> Result<Vec<u8>, NoticeError> {
    if payload.len() > DATA_CODEWORDS - 2 {
        return Err(NoticeError::Qr(format!(
            "{} bytes do not fit a version {VERSION}-M code",
            payload.len()
        )));
    }
    let mut bits = BitBuffer::default();
    bits.push(0b0100, 4);
    bits.push(payload.len() as u32, 8);
    for &b in payload {
        bits.push(u32::from(b), 8);
    }
    let capacity = DATA_CODEWORDS * 8;
    bits.push(0, (capacity - bits.len).min(4));
    bits.push(0, (8 - bits.len % 8) % 8);
    let mut data = bits.bytes;
    for pad in [0xEC, 0x11].into_iter().cycle() {
        if data.len() >= DATA_CODEWORDS {
            break;
        }
        data.push(pad);
    }
    let generator = generator();
    let per_block = DATA_CODEWORDS / BLOCKS;
    let blocks: Vec<&[u8]> = data.chunks(per_block).collect();
    let ecs: Vec<[u8; EC_PER_BLOCK]> = blocks.iter().map(|b| ec_codewords(b, &generator)).collect();
    let mut out = Vec::with_capacity(DATA_CODEWORDS + BLOCKS * EC_PER_BLOCK);
    for i in 0..per_block {
        out.extend(blocks.iter().map(|b| b[i]));
    }
    for i in 0..EC_PER_BLOCK {
        out.extend(ecs.iter().map(|e| e[i]));
    }
    Ok(out)
}

#[derive(Default)]
struct BitBuffer {
    bytes: Vec<u8>,
    len: usize,
}

impl BitBuffer {
    fn push(&mut self, value: u32, count: usize) {
        for i in (0..count).rev() {
            if self.len.is_multiple_of(8) {
                self.bytes.push(0);
            }
            if (value >> i) & 1 == 1
                && let Some(last) = self.bytes.last_mut()
            {
                *last |= 0x80 >> (self.len % 8);
            }
            self.len += 1;
        }
    }
}

#[derive(Clone, Copy)]
struct Grid {
    dark: [bool; SIZE * SIZE],
    functional: [bool; SIZE * SIZE],
}

impl Grid {
    fn set(&mut self, x: usize, y: usize, dark: bool) {
        self.dark[y * SIZE + x] = dark;
        self.functional[y * SIZE + x] = true;
    }

    fn function_patterns() -> Grid {
        let mut g = Grid {
            dark: [false; SIZE * SIZE],
            functional: [false; SIZE * SIZE],
        };
        for (cx, cy) in [(3i32, 3i32), (SIZE as i32 - 4, 3), (3, SIZE as i32 - 4)] {
            for dy in -4..=4 {
                for dx in -4..=4 {
                    let (x, y) = (cx + dx, cy + dy);
                    if (0..SIZE as i32).contains(&x) && (0..SIZE as i32).contains(&y) {
                        let d = dx.abs().max(dy.abs());
                        g.set(x as usize, y as usize, d != 2 && d != 4);
                    }
                }
            }
        }
        for i in 8..SIZE - 8 {
            g.set(6, i, i % 2 == 0);
            g.set(i, 6, i % 2 == 0);
        }
        for dy in -2i32..=2 {
            for dx in -2i32..=2 {
                let d = dx.abs().max(dy.abs());
                g.set(
                    (ALIGNMENT as i32 + dx) as usize,
                    (ALIGNMENT as i32 + dy) as usize,
                    d != 1,
                );
            }
        }
        // Reserve the format information (written per mask) and the dark module.
        g.format_bits(0);
        g
    }

    /// The 15 format bits for `mask`, both copies, and the dark module.
    fn format_bits(&mut self, mask: u32) {
        for (x, y, dark) in format_modules(mask) {
            self.set(x, y, dark);
        }
    }

    /// The positions of the data modules, in the zigzag order of the standard.
    fn data_order(&self) -> Vec<u16> {
        let mut order = Vec::with_capacity(SIZE * SIZE);
        let mut right = SIZE as i32 - 1;
        while right >= 1 {
            if right == 6 {
                right = 5;
            }
            for vert in 0..SIZE {
                for j in 0..2 {
                    let x = (right - j) as usize;
                    let upward = ((right + 1) & 2) == 0;
                    let y = if upward { SIZE - 1 - vert } else { vert };
                    if !self.functional[y * SIZE + x] {
                        order.push((y * SIZE + x) as u16);
                    }
                }
            }
            right -= 2;
        }
        order
    }

    /// Places the codewords at the data positions (bits past the end stay light).
    #[cfg(test)]
    fn place(&mut self, order: &[u16], codewords: &[u8]) {
        for (i, &pos) in order.iter().enumerate() {
            let dark = codewords
                .get(i / 8)
                .is_some_and(|b| (b >> (7 - i % 8)) & 1 == 1);
            self.dark[usize::from(pos)] = dark;
        }
    }

    /// The modules `mask` inverts: the data modules where its condition holds.
    fn mask_pattern(&self, mask: u32) -> [bool; SIZE * SIZE] {
        let mut pattern = [false; SIZE * SIZE];
        let mut g = Grid {
            dark: [false; SIZE * SIZE],
            functional: self.functional,
        };
        g.apply_mask(mask);
        pattern.copy_from_slice(&g.dark);
        pattern
    }

    fn apply_mask(&mut self, mask: u32) {
        for y in 0..SIZE {
            for x in 0..SIZE {
                let (i, j) = (y, x);
                let invert = match mask & 7 {
                    0 => (i + j) % 2 == 0,
                    1 => i % 2 == 0,
                    2 => j % 3 == 0,
                    3 => (i + j) % 3 == 0,
                    4 => (i / 2 + j / 3) % 2 == 0,
                    5 => (i * j) % 2 + (i * j) % 3 == 0,
                    6 => ((i * j) % 2 + (i * j) % 3) % 2 == 0,
                    _ => ((i + j) % 2 + (i * j) % 3) % 2 == 0,
                };
                let k = y * SIZE + x;
                if invert && !self.functional[k] {
                    self.dark[k] = !self.dark[k];
                }
            }
        }
    }

    /// The rows and columns as bit masks (bit `i` = module `i`).
    fn bits(&self) -> Bits {
        let mut bits = Bits {
            rows: [0; SIZE],
            cols: [0; SIZE],
        };
        for y in 0..SIZE {
            for x in 0..SIZE {
                bits.set(x, y, self.dark[y * SIZE + x]);
            }
        }
        bits
    }
}

/// The format information modules for `mask`: both copies of the 15 bits, and the dark module.
fn format_modules(mask: u32) -> [(usize, usize, bool); 31] {
    let data = (EC_LEVEL_BITS << 3) | mask;
    let mut rem = data;
    for _ in 0..10 {
        rem = (rem << 1) ^ ((rem >> 9) * 0x537);
    }
    let bits = ((data << 10) | rem) ^ 0x5412;
    let bit = |i: usize| (bits >> i) & 1 == 1;
    let mut out = [(0, 0, false); 31];
    let mut n = 0;
    let mut push = |x: usize, y: usize, dark: bool| {
        out[n] = (x, y, dark);
        n += 1;
    };
    for i in 0..=5 {
        push(8, i, bit(i));
    }
    push(8, 7, bit(6));
    push(8, 8, bit(7));
    push(7, 8, bit(8));
    for i in 9..15 {
        push(14 - i, 8, bit(i));
    }
    for i in 0..8 {
        push(SIZE - 1 - i, 8, bit(i));
    }
    for i in 8..15 {
        push(8, SIZE - 15 + i, bit(i));
    }
    push(8, SIZE - 8, true);
    out
}

/// A symbol as bit masks, by row and by column (bit `i` = module `i`), for fast masking and
/// scoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bits {
    rows: [u64; SIZE],
    cols: [u64; SIZE],
}

impl Bits {
    fn set(&mut self, x: usize, y: usize, dark: bool) {
        if dark {
            self.rows[y] |= 1 << x;
            self.cols[x] |= 1 << y;
        } else {
            self.rows[y] &= !(1 << x);
            self.cols[x] &= !(1 << y);
        }
    }

    fn xor(&mut self, other: &Bits) {
        for (a, b) in self.rows.iter_mut().zip(&other.rows) {
            *a ^= b;
        }
        for (a, b) in self.cols.iter_mut().zip(&other.cols) {
            *a ^= b;
        }
    }

    fn matrix(&self) -> QrMatrix {
        let mut modules = vec![false; SIZE * SIZE];
        for (y, row) in self.rows.iter().enumerate() {
            for (x, m) in modules[y * SIZE..(y + 1) * SIZE].iter_mut().enumerate() {
                *m = (row >> x) & 1 == 1;
            }
        }
        QrMatrix { modules }
    }

    /// The penalty score of ISO/IEC 18004 §7.8.3 (N1 = 3, N2 = 3, N3 = 40, N4 = 10).
    fn penalty(&self) -> u32 {
        let (rows, cols) = (&self.rows, &self.cols);
        let full = (1u64 << SIZE) - 1;
        let mut score = 0;
        for line in rows.iter().chain(cols.iter()) {
            // N1: runs of five or more of one colour.
            for bits in [*line, !*line & full] {
                let mut rest = bits;
                while rest != 0 {
                    let start = rest.trailing_zeros();
                    let run = (rest >> start).trailing_ones();
                    if run >= 5 {
                        score += 3 + (run - 5);
                    }
                    rest &= !(((1u64 << run) - 1) << start);
                }
            }
            // N3: 1:1:3:1:1 with four light modules on one side; outside the symbol is light.
            let padded = *line << 4;
            for shift in 0..SIZE as u32 + 4 {
                let window = (padded >> shift) & 0x7FF;
                if window == 0b000_0101_1101 || window == 0b101_1101_0000 {
                    score += 40;
                }
            }
        }
        // N2: 2 × 2 blocks of one colour.
        for y in 0..SIZE - 1 {
            let (a, b) = (rows[y], rows[y + 1]);
            let same_dark = a & (a >> 1) & b & (b >> 1);
            let same_light = !a & !(a >> 1) & !b & !(b >> 1);
            score += 3 * ((same_dark | same_light) & (full >> 1)).count_ones();
        }
        // N4: distance of the dark share from one half, in steps of 5%.
        let dark: u32 = rows.iter().map(|r| r.count_ones()).sum();
        let total = (SIZE * SIZE) as u32;
        let deviation = (dark * 20).abs_diff(total * 10); // 20 × |dark/total − 1/2| × total
        score + deviation / total * 10
    }
}

/// What is the same for every code: the function patterns, the data order, the masks.
struct Template {
    base: Bits,
    order: Vec<(u8, u8)>,
    masks: [Bits; 8],
}

fn template() -> &'static Template {
    static TEMPLATE: std::sync::OnceLock<Template> = std::sync::OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let grid = Grid::function_patterns();
        let order = grid
            .data_order()
            .iter()
            .map(|&p| ((usize::from(p) % SIZE) as u8, (usize::from(p) / SIZE) as u8))
            .collect();
        let masks = std::array::from_fn(|m| {
            let pattern = Grid {
                dark: grid.mask_pattern(m as u32),
                functional: grid.functional,
            };
            pattern.bits()
        });
        Template {
            base: grid.bits(),
            order,
            masks,
        }
    })
}

/// Encodes `payload`, choosing the mask with the lowest penalty.
pub(crate) fn encode(payload: &[u8]) -> Result<QrMatrix, NoticeError> {
    let codewords = codewords(payload)?;
    let t = template();
    let mut base = t.base;
    for (i, &(x, y)) in t.order.iter().enumerate() {
        if codewords
            .get(i / 8)
            .is_some_and(|b| (b >> (7 - i % 8)) & 1 == 1)
        {
            base.set(usize::from(x), usize::from(y), true);
        }
    }
    let mut best: Option<(u32, Bits)> = None;
    for (mask, pattern) in t.masks.iter().enumerate() {
        let mut bits = base;
        bits.xor(pattern);
        for (x, y, dark) in format_modules(mask as u32) {
            bits.set(x, y, dark);
        }
        let score = bits.penalty();
        if best.as_ref().is_none_or(|(s, _)| score < *s) {
            best = Some((score, bits));
        }
    }
    best.map(|(_, bits)| bits.matrix())
        .ok_or_else(|| NoticeError::Qr("no mask".into()))
}

/// Encodes `payload` with a given mask (for tests against another encoder).
#[cfg(test)]
fn encode_with_mask(payload: &[u8], mask: u32) -> Result<QrMatrix, NoticeError> {
    let mut g = Grid::function_patterns();
    let order = g.data_order();
    g.place(&order, &codewords(payload)?);
    g.apply_mask(mask);
    g.format_bits(mask);
    Ok(QrMatrix {
        modules: g.dark.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use qrcode::bits::Bits;
    use qrcode::canvas::{Canvas, MaskPattern};
    use qrcode::{EcLevel, Version};

    /// The `qrcode` crate's matrix for the same byte-mode data and mask.
    fn reference(payload: &[u8], mask: MaskPattern) -> Vec<bool> {
        let mut bits = Bits::new(Version::Normal(4));
        bits.push_byte_data(payload).expect("fits");
        bits.push_terminator(EcLevel::M).expect("fits");
        let data = bits.into_bytes();
        let (data, ec) = qrcode::ec::construct_codewords(&data, Version::Normal(4), EcLevel::M)
            .expect("codewords");
        let mut canvas = Canvas::new(Version::Normal(4), EcLevel::M);
        canvas.draw_all_functional_patterns();
        canvas.draw_data(&data, &ec);
        canvas.apply_mask(mask);
        canvas
            .into_colors()
            .into_iter()
            .map(|c| c == qrcode::Color::Dark)
            .collect()
    }

    #[test]
    fn every_mask_matches_an_independent_encoder() {
        let masks = [
            MaskPattern::Checkerboard,
            MaskPattern::HorizontalLines,
            MaskPattern::VerticalLines,
            MaskPattern::DiagonalLines,
            MaskPattern::LargeCheckerboard,
            MaskPattern::Fields,
            MaskPattern::Diamonds,
            MaskPattern::Meadow,
        ];
        for payload in [
            "PAGOPA|002|301000000000000144|00000000201|102099",
            "PAGOPA|002|347123456789012389|12345678901|99999999999",
            "x",
        ] {
            for (i, &mask) in masks.iter().enumerate() {
                let ours = encode_with_mask(payload.as_bytes(), i as u32).expect("encodes");
                assert_eq!(
                    ours.modules,
                    reference(payload.as_bytes(), mask),
                    "{payload} mask {i}"
                );
            }
        }
    }

    #[test]
    fn the_chosen_code_is_one_of_the_masked_codes() {
        let payload = b"PAGOPA|002|301000000000000144|00000000201|102099";
        let chosen = encode(payload).expect("encodes");
        assert!((0..8).any(|m| encode_with_mask(payload, m).ok().as_ref() == Some(&chosen)));
        assert!(encode(&[b'9'; 63]).is_err());
    }

    #[test]
    fn the_chosen_mask_is_the_independent_encoders_choice() {
        for payload in [
            "PAGOPA|002|301000000000000144|00000000201|102099",
            "PAGOPA|002|347123456789012389|12345678901|5",
        ] {
            let mut bits = Bits::new(Version::Normal(4));
            bits.push_byte_data(payload.as_bytes()).expect("fits");
            bits.push_terminator(EcLevel::M).expect("fits");
            let theirs = qrcode::QrCode::with_bits(bits, EcLevel::M)
                .expect("encodes")
                .to_colors()
                .into_iter()
                .map(|c| c == qrcode::Color::Dark)
                .collect::<Vec<bool>>();
            assert_eq!(
                encode(payload.as_bytes()).expect("encodes").modules,
                theirs,
                "{payload}"
            );
        }
    }
}
