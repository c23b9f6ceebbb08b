//! Finding a font that can draw Chinese. A chart with boxes instead of characters is worse than
//! no chart, so a missing font is an error raised before any expensive work.

use std::path::{Path, PathBuf};

use ab_glyph::{Font, FontRef};

use crate::error::{Error, Result};

/// Font files known to hold Simplified Chinese as their first face (plotters' ab_glyph backend
/// always reads face 0 of a collection).
const KNOWN: &[&str] = &[
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:\\Windows\\Fonts\\msyh.ttc",
    "C:\\Windows\\Fonts\\simhei.ttf",
];

/// Characters a chart of Chinese terms must be able to show.
const PROBE: &str = "中国合作发展贸易";

/// A loaded font that covers Chinese, with the file it came from.
pub struct CjkFont {
    pub path: PathBuf,
    pub bytes: &'static [u8],
}

/// The font given, or the first known CJK font on this system.
pub fn find_cjk_font(given: Option<&Path>) -> Result<CjkFont> {
    if let Some(path) = given {
        return load(path);
    }
    KNOWN.iter().map(Path::new).filter(|p| p.exists()).find_map(|p| load(p).ok()).ok_or_else(|| {
        Error::Font(
            "no font with Chinese characters found for the charts. Install one \
             (Debian/Ubuntu: `apt-get install fonts-wqy-microhei`) or pass --font FILE (a .ttf/.otf/.ttc with Chinese glyphs)"
                .into(),
        )
    })
}

fn load(path: &Path) -> Result<CjkFont> {
    let bytes = std::fs::read(path).map_err(|e| Error::Font(format!("--font {}: {e}", path.display())))?;
    let font = FontRef::try_from_slice(&bytes)
        .map_err(|_| Error::Font(format!("{}: not a TrueType/OpenType font", path.display())))?;
    if let Some(missing) = PROBE.chars().find(|&c| font.glyph_id(c).0 == 0) {
        return Err(Error::Font(format!(
            "{}: has no glyph for '{missing}' in its first face; give a font with Chinese characters",
            path.display()
        )));
    }
    // Fonts live for the whole run; plotters' registry wants 'static bytes.
    Ok(CjkFont { path: path.to_path_buf(), bytes: Box::leak(bytes.into_boxed_slice()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_a_font_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fake.ttf");
        std::fs::write(&path, b"not a font").unwrap();
        let err = find_cjk_font(Some(&path)).err().unwrap().to_string();
        assert!(err.contains("fake.ttf: not a TrueType/OpenType font"), "{err}");
    }
}
