//! `template`'s `output_encoding`: the rendered text is written in this Python codec, with
//! ansible-core's `surrogate_or_strict` errors (a character the codec cannot represent fails
//! the task). strata implements the Unicode codecs and ASCII/Latin-1 under Python's names
//! and aliases; any other codec is refused when the playbook is loaded.

/// A codec strata can write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    Utf8,
    /// `utf-8-sig`: UTF-8 behind a byte order mark.
    Utf8Sig,
    Ascii,
    Latin1,
    /// `utf-16`: a little-endian BOM, then little-endian units (Python on x86 and ARM).
    Utf16,
    Utf16Le,
    Utf16Be,
    Utf32,
    Utf32Le,
    Utf32Be,
}

/// Python's codec name normalisation (`codecs.lookup`), then its aliases.
pub fn codec(name: &str) -> Option<Codec> {
    let n = name.trim().to_ascii_lowercase().replace([' ', '-'], "_");
    Some(match n.as_str() {
        "utf_8" | "utf8" | "u8" | "utf" | "cp65001" => Codec::Utf8,
        "utf_8_sig" | "utf8_sig" => Codec::Utf8Sig,
        "ascii" | "us_ascii" | "646" | "us" | "ansi_x3.4_1968" | "iso646_us" => Codec::Ascii,
        "latin_1" | "latin1" | "latin" | "l1" | "iso_8859_1" | "iso8859_1" | "8859" | "cp819"
        | "iso_ir_100" => Codec::Latin1,
        "utf_16" | "utf16" | "u16" => Codec::Utf16,
        "utf_16_le" | "utf_16le" | "utf16le" => Codec::Utf16Le,
        "utf_16_be" | "utf_16be" | "utf16be" => Codec::Utf16Be,
        "utf_32" | "utf32" | "u32" => Codec::Utf32,
        "utf_32_le" | "utf_32le" | "utf32le" => Codec::Utf32Le,
        "utf_32_be" | "utf_32be" | "utf32be" => Codec::Utf32Be,
        _ => return None,
    })
}

/// The codecs named in refusals.
pub const SUPPORTED: &str = "utf-8, utf-8-sig, ascii, latin-1, utf-16, utf-16-le, utf-16-be, utf-32, utf-32-le, utf-32-be (and their Python aliases)";

/// `text` in `codec`, or Python's message for the first character it cannot encode.
pub fn encode(text: &str, codec: Codec) -> Result<Vec<u8>, String> {
    let limited = |max: u32, name: &str| -> Result<Vec<u8>, String> {
        text.chars()
            .enumerate()
            .map(|(i, c)| {
                u8::try_from(c as u32).ok().filter(|_| c as u32 <= max).ok_or_else(|| {
                    format!(
                        "'{name}' codec can't encode character '{}' in position {i}: ordinal not in range({})",
                        py_escape(c),
                        max + 1
                    )
                })
            })
            .collect()
    };
    let units16 = |le: bool| -> Vec<u8> {
        text.encode_utf16()
            .flat_map(|u| if le { u.to_le_bytes() } else { u.to_be_bytes() })
            .collect()
    };
    let units32 = |le: bool| -> Vec<u8> {
        text.chars()
            .flat_map(|c| {
                let u = c as u32;
                if le { u.to_le_bytes() } else { u.to_be_bytes() }
            })
            .collect()
    };
    Ok(match codec {
        Codec::Utf8 => text.as_bytes().to_vec(),
        Codec::Utf8Sig => [&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat(),
        Codec::Ascii => limited(0x7F, "ascii")?,
        Codec::Latin1 => limited(0xFF, "latin-1")?,
        Codec::Utf16 => [vec![0xFF, 0xFE], units16(true)].concat(),
        Codec::Utf16Le => units16(true),
        Codec::Utf16Be => units16(false),
        Codec::Utf32 => [vec![0xFF, 0xFE, 0, 0], units32(true)].concat(),
        Codec::Utf32Le => units32(true),
        Codec::Utf32Be => units32(false),
    })
}

/// How Python's `repr` escapes a character it cannot print.
fn py_escape(c: char) -> String {
    match c as u32 {
        u @ 0..=0xFF => format!("\\x{u:02x}"),
        u @ 0x100..=0xFFFF => format!("\\u{u:04x}"),
        u => format!("\\U{u:08x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_names_and_bytes() {
        assert_eq!(codec("UTF-8"), Some(Codec::Utf8));
        assert_eq!(codec("ISO-8859-1"), Some(Codec::Latin1));
        assert_eq!(codec("utf-16"), Some(Codec::Utf16));
        assert_eq!(codec("shift_jis"), None);
        assert_eq!(encode("é", Codec::Latin1).unwrap(), vec![0xE9]);
        assert_eq!(
            encode("aé", Codec::Utf16).unwrap(),
            vec![0xFF, 0xFE, b'a', 0, 0xE9, 0]
        );
        assert_eq!(encode("a", Codec::Utf32Be).unwrap(), vec![0, 0, 0, b'a']);
        let e = encode("aé", Codec::Ascii).unwrap_err();
        assert_eq!(
            e,
            "'ascii' codec can't encode character '\\xe9' in position 1: ordinal not in range(128)"
        );
    }
}
