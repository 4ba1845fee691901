//! The embedded fonts: DejaVu Sans and DejaVu Sans Bold, written as CIDFontType2 with
//! Identity-H encoding, a subset of glyphs and a ToUnicode CMap (so text stays extractable).
//!
//! Each font is parsed and subset once per process to a fixed repertoire (see `repertoire`:
//! every label and nearly every name), and the resulting PDF objects are kept as bytes. A
//! notice using only those characters copies them. A notice with another character the font
//! has (say `Ω`) gets a subset of its own: the repertoire in the same order plus its extra
//! glyphs, so the codes already written stay valid.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use subsetter::GlyphRemapper;
use ttf_parser::{Face, GlyphId};

use crate::NoticeError;
use crate::pdf::{ONCE, deflate, stream_object};

static REGULAR_TTF: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static BOLD_TTF: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// A glyph of the subset: its code (CID, equal to its glyph id in the subset font) and advance.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Glyph {
    pub cid: u16,
    /// Advance width in thousandths of the font size.
    pub width: u16,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    width: u16,
    ch: Option<char>,
}

/// A serialised PDF object and its number.
pub(crate) type Object = (u32, Vec<u8>);

/// One face, parsed, with its fixed subset prepared.
pub(crate) struct Font {
    face: Face<'static>,
    data: &'static [u8],
    name: &'static str,
    first_object: u32,
    scale: f32,
    remapper: GlyphRemapper,
    entries: Vec<Entry>,
    glyphs: HashMap<char, Glyph>,
    /// `glyphs` for the characters below U+0220, by code point: most lookups.
    latin: Vec<Option<Glyph>>,
    objects: Vec<Object>,
}

impl std::fmt::Debug for Font {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Font")
            .field("name", &self.name)
            .field("glyphs", &self.entries.len())
            .finish()
    }
}

/// The characters of the shared subset: printable ASCII, Latin-1, the letters of Latin
/// Extended-A (and Romanian's comma-below letters) most seen in names of people living in
/// Italy (Slovene, Croatian, Romanian, Polish, Czech, Hungarian, Turkish, Albanian), and
/// typographic punctuation. The rest of Latin Extended-A would add 6 KB to every notice; the
/// few notices that need it get their own subset.
fn repertoire() -> impl Iterator<Item = char> {
    (' '..='~')
        .chain('\u{A0}'..='\u{FF}')
        .chain("ĂăĄąĆćČčĎďĐđĒēĘęĚěĞğĪīİıŁłŃńŇňŌōŐőŒœŘřŚśŞşŠšŢţŤťŪūŮůŰűŹźŻżŽžȘșȚț".chars())
        .chain("€‘’‚“”„–—…•′″".chars())
}

const LATIN: usize = 0x220;

/// Object numbers of the two fonts: five objects each (see [`Font::objects`]).
pub(crate) const REGULAR_FIRST_OBJECT: u32 = 3;
pub(crate) const BOLD_FIRST_OBJECT: u32 = 8;

impl Font {
    fn load(
        data: &'static [u8],
        name: &'static str,
        first_object: u32,
    ) -> Result<Font, NoticeError> {
        let face = Face::parse(data, 0).map_err(|e| NoticeError::Font(format!("{name}: {e}")))?;
        let scale = 1000.0 / f32::from(face.units_per_em());
        let mut font = Font {
            face,
            data,
            name,
            first_object,
            scale,
            remapper: GlyphRemapper::new(),
            entries: Vec::new(),
            glyphs: HashMap::new(),
            latin: vec![None; LATIN],
            objects: Vec::new(),
        };
        font.entries.push(Entry {
            width: font.advance(0),
            ch: None,
        });
        let mut remapper = GlyphRemapper::new();
        for ch in repertoire() {
            if let Some(gid) = font.face.glyph_index(ch) {
                let glyph = font.add(&mut remapper, gid.0, ch);
                font.glyphs.insert(ch, glyph);
                if let Some(slot) = font.latin.get_mut(ch as usize) {
                    *slot = Some(glyph);
                }
            }
        }
        font.objects = font.embed(&remapper, &font.entries, "SPTLAA")?;
        font.remapper = remapper;
        Ok(font)
    }

    fn advance(&self, gid: u16) -> u16 {
        let units = self.face.glyph_hor_advance(GlyphId(gid)).unwrap_or(0);
        (f32::from(units) * self.scale).round() as u16
    }

    fn add_to(
        &self,
        remapper: &mut GlyphRemapper,
        entries: &mut Vec<Entry>,
        gid: u16,
        ch: char,
    ) -> Glyph {
        let cid = remapper.remap(gid);
        let width = self.advance(gid);
        if usize::from(cid) == entries.len() {
            entries.push(Entry {
                width,
                ch: Some(ch),
            });
        }
        Glyph { cid, width }
    }

    fn add(&mut self, remapper: &mut GlyphRemapper, gid: u16, ch: char) -> Glyph {
        let mut entries = std::mem::take(&mut self.entries);
        let glyph = self.add_to(remapper, &mut entries, gid, ch);
        self.entries = entries;
        glyph
    }

    /// The Type0 font, CIDFont, descriptor, font file and ToUnicode objects for a subset.
    fn embed(
        &self,
        remapper: &GlyphRemapper,
        entries: &[Entry],
        tag: &str,
    ) -> Result<Vec<Object>, NoticeError> {
        let subset = subsetter::subset(self.data, 0, remapper)
            .map_err(|e| NoticeError::Font(format!("{}: {e:?}", self.name)))?;
        let n = self.first_object;
        let base = format!("{tag}+{}", self.name);
        let mut widths = String::with_capacity(entries.len() * 5);
        for (i, e) in entries.iter().enumerate() {
            if i > 0 {
                widths.push(' ');
            }
            let _ = write!(widths, "{}", e.width);
        }
        let s = self.scale;
        let bbox = self.face.global_bounding_box();
        let scaled = |v: i16| (f32::from(v) * s).round() as i32;
        let cap = self.face.capital_height().unwrap_or(self.face.ascender());
        let type0 = format!(
            "<< /Type /Font /Subtype /Type0 /BaseFont /{base} /Encoding /Identity-H /DescendantFonts [{} 0 R] /ToUnicode {} 0 R >>",
            n + 1,
            n + 4
        );
        let cid = format!(
            "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{base} /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor {} 0 R /CIDToGIDMap /Identity /DW 0 /W [0 [{widths}]] >>",
            n + 2
        );
        let descriptor = format!(
            "<< /Type /FontDescriptor /FontName /{base} /Flags 32 /FontBBox [{} {} {} {}] /ItalicAngle 0 /Ascent {} /Descent {} /CapHeight {} /StemV {} /FontFile2 {} 0 R >>",
            scaled(bbox.x_min),
            scaled(bbox.y_min),
            scaled(bbox.x_max),
            scaled(bbox.y_max),
            scaled(self.face.ascender()),
            scaled(self.face.descender()),
            scaled(cap),
            if self.first_object == BOLD_FIRST_OBJECT {
                140
            } else {
                80
            },
            n + 3
        );
        let file = stream_object(
            n + 3,
            &format!("/Length1 {} /Filter /FlateDecode", subset.len()),
            &deflate(&subset, ONCE),
        );
        let cmap = to_unicode(entries);
        let cmap = stream_object(
            n + 4,
            "/Filter /FlateDecode",
            &deflate(cmap.as_bytes(), ONCE),
        );
        Ok(vec![
            (n, format!("{n} 0 obj\n{type0}\nendobj\n").into_bytes()),
            (
                n + 1,
                format!("{} 0 obj\n{cid}\nendobj\n", n + 1).into_bytes(),
            ),
            (
                n + 2,
                format!("{} 0 obj\n{descriptor}\nendobj\n", n + 2).into_bytes(),
            ),
            (n + 3, file),
            (n + 4, cmap),
        ])
    }
}

fn to_unicode(entries: &[Entry]) -> String {
    let mut out = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let mapped: Vec<(usize, char)> = entries
        .iter()
        .enumerate()
        .filter_map(|(cid, e)| e.ch.map(|c| (cid, c)))
        .collect();
    for block in mapped.chunks(100) {
        let _ = writeln!(out, "{} beginbfchar", block.len());
        for (cid, ch) in block {
            let _ = write!(out, "<{cid:04X}> <");
            let mut units = [0u16; 2];
            for u in ch.encode_utf16(&mut units) {
                let _ = write!(out, "{u:04X}");
            }
            out.push_str(">\n");
        }
        out.push_str("endbfchar\n");
    }
    out.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    out
}

/// The two faces, loaded on first use.
pub(crate) fn fonts() -> Result<&'static (Font, Font), NoticeError> {
    static FONTS: OnceLock<Result<(Font, Font), NoticeError>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            Ok((
                Font::load(REGULAR_TTF, "DejaVuSans", REGULAR_FIRST_OBJECT)?,
                Font::load(BOLD_TTF, "DejaVuSans-Bold", BOLD_FIRST_OBJECT)?,
            ))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Encodes text with one face for one document, growing a subset of its own when the text
/// leaves the fixed repertoire.
pub(crate) struct Encoder {
    font: &'static Font,
    extra: Option<(GlyphRemapper, Vec<Entry>, HashMap<char, Glyph>)>,
}

impl Encoder {
    pub(crate) fn new(font: &'static Font) -> Self {
        Encoder { font, extra: None }
    }

    pub(crate) fn glyph(&mut self, ch: char) -> Result<Glyph, NoticeError> {
        if let Some(Some(glyph)) = self.font.latin.get(ch as usize) {
            return Ok(*glyph);
        }
        if let Some(glyph) = self.font.glyphs.get(&ch) {
            return Ok(*glyph);
        }
        if let Some((_, _, glyphs)) = &self.extra
            && let Some(glyph) = glyphs.get(&ch)
        {
            return Ok(*glyph);
        }
        let gid = self
            .font
            .face
            .glyph_index(ch)
            .ok_or(NoticeError::UnsupportedCharacter(ch))?;
        let font = self.font;
        let (remapper, entries, glyphs) = self
            .extra
            .get_or_insert_with(|| (font.remapper.clone(), font.entries.clone(), HashMap::new()));
        let glyph = font.add_to(remapper, entries, gid.0, ch);
        glyphs.insert(ch, glyph);
        Ok(glyph)
    }

    /// Appends the hex string of `text`'s codes to `out`; returns the advance in font-size units.
    pub(crate) fn encode(&mut self, text: &str, out: &mut String) -> Result<f32, NoticeError> {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let mut width = 0u32;
        out.push('<');
        for ch in text.chars() {
            let g = self.glyph(ch)?;
            width += u32::from(g.width);
            for shift in [12, 8, 4, 0] {
                out.push(char::from(HEX[usize::from((g.cid >> shift) & 0xF)]));
            }
        }
        out.push('>');
        Ok(width as f32 / 1000.0)
    }

    /// The width of `text` at `size` points.
    pub(crate) fn width(&mut self, text: &str, size: f32) -> Result<f32, NoticeError> {
        let mut width = 0u32;
        for ch in text.chars() {
            width += u32::from(self.glyph(ch)?.width);
        }
        Ok(width as f32 / 1000.0 * size)
    }

    /// The font's PDF objects: the shared ones, or this document's own subset.
    pub(crate) fn objects(&self) -> Result<Cow<'static, [Object]>, NoticeError> {
        match &self.extra {
            None => Ok(Cow::Borrowed(self.font.objects.as_slice())),
            Some((remapper, entries, _)) => {
                // A subset tag of six capitals that differs from the shared subset's.
                let mut n = entries.len();
                let tag: String = (0..6)
                    .map(|_| {
                        let c = char::from(b'A' + (n % 26) as u8);
                        n /= 26;
                        c
                    })
                    .collect();
                Ok(Cow::Owned(self.font.embed(remapper, entries, &tag)?))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every character of the shared subset is drawn with its own glyph: the subset font's glyph
    /// at the character's code has the original glyph's bounding box and advance.
    #[test]
    fn the_shared_subset_keeps_each_characters_glyph_at_its_code() {
        let (regular, bold) = fonts().expect("fonts load");
        for font in [regular, bold] {
            let subset = subsetter::subset(font.data, 0, &font.remapper).expect("subsets");
            let sub = Face::parse(&subset, 0).expect("the subset parses");
            // Components of composite glyphs follow the glyphs we address.
            assert!(usize::from(sub.number_of_glyphs()) >= font.entries.len());
            let mut checked = 0;
            for ch in repertoire() {
                let Some(original) = font.face.glyph_index(ch) else {
                    continue;
                };
                let glyph = font.glyphs[&ch];
                assert_eq!(
                    sub.glyph_bounding_box(GlyphId(glyph.cid)),
                    font.face.glyph_bounding_box(original),
                    "{}: {ch:?}",
                    font.name
                );
                assert_eq!(
                    sub.glyph_hor_advance(GlyphId(glyph.cid)),
                    font.face.glyph_hor_advance(original)
                );
                checked += 1;
            }
            assert!(checked > 250, "{checked} characters checked");
        }
    }

    #[test]
    fn characters_outside_the_repertoire_extend_a_copy_of_the_subset() {
        let (regular, _) = fonts().expect("fonts load");
        let mut enc = Encoder::new(regular);
        let a = enc.glyph('a').expect("a");
        assert!(matches!(enc.objects(), Ok(Cow::Borrowed(_))));
        let omega = enc.glyph('Ω').expect("omega");
        assert_eq!(
            usize::from(omega.cid),
            regular.entries.len(),
            "appended after the shared glyphs"
        );
        assert_eq!(enc.glyph('a').expect("a").cid, a.cid);
        let objects = enc.objects().expect("objects");
        assert!(matches!(objects, Cow::Owned(_)));
        assert!(enc.glyph('漢').is_err());
    }
}
