//! Finding a font that can draw Chinese. A chart with boxes instead of characters is worse than
//! no chart, so a missing font is an error raised before any expensive work — and the error
//! names the fixes that need no root, including `--charts none` for the tables alone.
//!
//! Where we look, first that gives a usable font:
//! 1. `--font FILE`, then the `THEMESHIFT_FONT` variable (either must work, or the run stops);
//! 2. fontconfig (`fc-match 'sans-serif:lang=zh-cn'`, then `fc-list :lang=zh`), when installed;
//! 3. the user's font folders (`$XDG_DATA_HOME/fonts`, `~/.local/share/fonts`, `~/.fonts`,
//!    `~/Library/Fonts`), then the system's (`/usr/share/fonts`, `/usr/local/share/fonts`, macOS,
//!    Windows).
//!
//! In a collection (`.ttc`) the simplified-Chinese face is chosen by its name, not face 0 blindly:
//! Noto Sans CJK's face 0 is Japanese, and Japanese glyph shapes differ from simplified ones.

use std::path::{Path, PathBuf};
use std::process::Command;

use ab_glyph::FontRef;

use crate::error::{Error, Result};

/// Characters a chart of Chinese terms must be able to show.
const PROBE: &str = "中国合作发展贸易";

/// The environment variable naming a font file.
pub const FONT_VARIABLE: &str = "THEMESHIFT_FONT";

/// A loaded font that covers Chinese: the file, the face used, and bytes whose face 0 is that
/// face (plotters' font backend always reads face 0 of a collection).
pub struct CjkFont {
    pub path: PathBuf,
    pub face: u32,
    pub family: String,
    pub bytes: &'static [u8],
}

impl CjkFont {
    /// `file` or `file#face` — what the manifest records.
    pub fn describe(&self) -> String {
        match self.face {
            0 => self.path.display().to_string(),
            face => format!("{}#{face}", self.path.display()),
        }
    }
}

/// Where to look, so tests can point the search at folders of their own.
#[derive(Debug, Clone)]
pub struct FontSearch {
    pub given: Option<PathBuf>,
    pub variable: Option<PathBuf>,
    pub fontconfig: bool,
    pub folders: Vec<PathBuf>,
}

impl FontSearch {
    /// The search of a run: `--font`, `THEMESHIFT_FONT`, fontconfig, user and system folders.
    pub fn system(given: Option<&Path>) -> Self {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let mut folders = Vec::new();
        if let Some(data) = std::env::var_os("XDG_DATA_HOME") {
            folders.push(PathBuf::from(data).join("fonts"));
        }
        if let Some(home) = &home {
            for sub in [".local/share/fonts", ".fonts", "Library/Fonts"] {
                folders.push(home.join(sub));
            }
        }
        for system in ["/usr/share/fonts", "/usr/local/share/fonts", "/Library/Fonts", "/System/Library/Fonts"] {
            folders.push(PathBuf::from(system));
        }
        if let Some(windows) = std::env::var_os("WINDIR") {
            folders.push(PathBuf::from(windows).join("Fonts"));
        }
        FontSearch {
            given: given.map(Path::to_path_buf),
            variable: std::env::var_os(FONT_VARIABLE).filter(|v| !v.is_empty()).map(PathBuf::from),
            fontconfig: true,
            folders,
        }
    }

    /// The first usable font, or an error that says how to get one without root.
    pub fn find(&self) -> Result<CjkFont> {
        if let Some(path) = &self.given {
            return load(path, None).map_err(|e| Error::Font(format!("--font {e}")));
        }
        if let Some(path) = &self.variable {
            return load(path, None).map_err(|e| Error::Font(format!("{FONT_VARIABLE}={e}")));
        }
        if self.fontconfig {
            if let Some(font) = fontconfig_candidates().into_iter().find_map(|(p, face)| load(&p, face).ok()) {
                return Ok(font);
            }
        }
        for folder in &self.folders {
            if let Some(font) = font_files(folder).into_iter().find_map(|p| load(&p, None).ok()) {
                return Ok(font);
            }
        }
        Err(Error::Font(NO_FONT.into()))
    }
}

const NO_FONT: &str = "no font with Chinese characters found for the charts. Any one of these fixes it:\n  \
    - run without charts: --charts none (every table and report is still written)\n  \
    - put a CJK font file in ~/.local/share/fonts (no root needed), e.g. NotoSansCJKsc-Regular.otf or wqy-microhei.ttc\n  \
    - name a font file: --font FILE or THEMESHIFT_FONT=FILE (.ttf/.otf/.ttc with Chinese glyphs)\n  \
    - from PyPI, no root: pip install noto-cjk-sans-otc (Noto Sans CJK, SIL OFL 1.1), then point THEMESHIFT_FONT at \
    its NotoSansCJK-Regular.ttc (the simplified-Chinese face is chosen)\n  \
    - with root, Debian/Ubuntu: apt-get install fonts-wqy-microhei (or fonts-noto-cjk)";

/// The chosen font of the system search (see the module docs).
pub fn find_cjk_font(given: Option<&Path>) -> Result<CjkFont> {
    FontSearch::system(given).find()
}

/// fontconfig's best simplified-Chinese match, then every font it lists for Chinese.
fn fontconfig_candidates() -> Vec<(PathBuf, Option<u32>)> {
    let run = |args: &[&str]| -> Option<String> {
        let out = Command::new(args[0]).args(&args[1..]).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let mut found = Vec::new();
    let parse = |line: &str| -> Option<(PathBuf, Option<u32>)> {
        let (file, index) = line.rsplit_once('|')?;
        (!file.is_empty()).then(|| (PathBuf::from(file), index.trim().parse().ok()))
    };
    if let Some(text) = run(&["fc-match", "--format", "%{file}|%{index}\n", "sans-serif:lang=zh-cn"]) {
        found.extend(text.lines().filter_map(parse));
    }
    if let Some(text) = run(&["fc-list", "--format", "%{file}|%{index}\n", ":lang=zh-cn"]) {
        let mut listed: Vec<_> = text.lines().filter_map(parse).collect();
        listed.sort();
        found.extend(listed);
    }
    found
}

/// Font files under `folder` (recursively, sorted), those whose names suggest Chinese first.
fn font_files(folder: &Path) -> Vec<PathBuf> {
    const HINTS: &[&str] =
        &["cjk", "sc", "wqy", "hei", "song", "han", "zh", "cn", "gb", "ming", "kai", "fang", "yahei", "msyh", "droid"];
    let mut files = Vec::new();
    let mut stack = vec![(folder.to_path_buf(), 0)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else { continue };
            // Real folders only (no symlink loops), a few levels deep as font trees are.
            if kind.is_dir() && depth < 6 {
                stack.push((path, depth + 1));
            } else if kind.is_file() || kind.is_symlink() {
                let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
                if matches!(ext.as_deref(), Some("ttf" | "otf" | "ttc" | "otc")) {
                    files.push(path);
                }
            }
        }
    }
    let hinted = |p: &PathBuf| {
        let name = p.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
        !HINTS.iter().any(|h| name.contains(h))
    };
    files.sort_by_key(|p| (hinted(p), p.clone()));
    files
}

/// Load `path` and pick the face to draw with: `face` if given (fontconfig's), else the best
/// face covering the probe characters, simplified-Chinese names first.
fn load(path: &Path, face: Option<u32>) -> std::result::Result<CjkFont, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let n_faces = ttf_parser::fonts_in_collection(&bytes).unwrap_or(1);
    let faces: Vec<u32> = match face {
        Some(f) if f < n_faces => vec![f],
        _ => (0..n_faces).collect(),
    };
    let mut best: Option<(i32, u32, String)> = None;
    let mut last_error = format!("{}: not a TrueType/OpenType font", path.display());
    for index in faces {
        let Ok(parsed) = ttf_parser::Face::parse(&bytes, index) else { continue };
        if let Some(missing) = PROBE.chars().find(|&c| parsed.glyph_index(c).is_none()) {
            last_error =
                format!("{}: has no glyph for '{missing}'; give a font with Chinese characters", path.display());
            continue;
        }
        let family = family_name(&parsed);
        let score = simplified_score(&family);
        if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
            best = Some((score, index, family));
        }
    }
    let (_, index, family) = best.ok_or(last_error)?;
    let bytes = face_first(bytes, index);
    FontRef::try_from_slice(&bytes).map_err(|_| format!("{}: the font backend cannot read it", path.display()))?;
    // Fonts live for the whole run; plotters' registry wants 'static bytes.
    Ok(CjkFont { path: path.to_path_buf(), face: index, family, bytes: Box::leak(bytes.into_boxed_slice()) })
}

fn family_name(face: &ttf_parser::Face) -> String {
    let names = face.names();
    let family = |id| names.into_iter().filter(|n| n.name_id == id).find_map(|n| n.to_string());
    family(ttf_parser::name_id::TYPOGRAPHIC_FAMILY).or_else(|| family(ttf_parser::name_id::FAMILY)).unwrap_or_default()
}

/// Higher for names that say simplified Chinese, lower for other CJK locales.
fn simplified_score(family: &str) -> i32 {
    let padded = format!(" {} ", family.replace(['-', '_'], " "));
    let has = |tags: &[&str]| tags.iter().any(|t| padded.contains(t));
    if has(&[" SC ", " CN ", " GB ", " Hans ", "Simplified", "简"]) {
        2
    } else if has(&[" JP ", " J ", " KR ", " K ", " TC ", " HK ", " Hant ", "Traditional"]) {
        0
    } else {
        1
    }
}

/// The font file with face `index` moved to the front: a collection's header lists the offsets of
/// its faces, and tables are addressed from the start of the file, so pointing entry 0 at face
/// `index` makes it the face every reader takes by default.
fn face_first(mut bytes: Vec<u8>, index: u32) -> Vec<u8> {
    if index == 0 || bytes.len() < 12 || &bytes[0..4] != b"ttcf" {
        return bytes;
    }
    let entry = 12 + 4 * index as usize;
    if bytes.len() >= entry + 4 {
        let offset: [u8; 4] = bytes[entry..entry + 4].try_into().expect("four bytes");
        bytes[12..16].copy_from_slice(&offset);
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use ab_glyph::Font;

    /// Whether `font` has a glyph for every character of `text`.
    fn covers(font: &CjkFont, text: &str) -> bool {
        FontRef::try_from_slice(font.bytes)
            .is_ok_and(|f| text.chars().all(|c| c.is_whitespace() || f.glyph_id(c).0 != 0))
    }

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fonts").join(name)
    }

    fn search_in(folders: Vec<PathBuf>) -> FontSearch {
        FontSearch { given: None, variable: None, fontconfig: false, folders }
    }

    #[test]
    fn a_file_that_is_not_a_font_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fake.ttf");
        std::fs::write(&path, b"not a font").unwrap();
        let err = find_cjk_font(Some(&path)).err().unwrap().to_string();
        assert!(err.contains("fake.ttf: not a TrueType/OpenType font"), "{err}");
    }

    #[test]
    fn no_font_anywhere_names_the_fixes_that_need_no_root() {
        let empty = tempfile::tempdir().unwrap();
        let err = search_in(vec![empty.path().to_path_buf()]).find().err().unwrap().to_string();
        for fix in ["--charts none", "~/.local/share/fonts", "--font FILE", "THEMESHIFT_FONT"] {
            assert!(err.contains(fix), "{fix} missing from: {err}");
        }
    }

    #[test]
    fn a_font_in_a_nested_user_folder_is_found() {
        let home = tempfile::tempdir().unwrap();
        let nested = home.path().join(".local/share/fonts/cjk");
        std::fs::create_dir_all(&nested).unwrap();
        std::fs::write(nested.join("notes.txt"), b"not a font").unwrap();
        std::fs::copy(fixture("tiny_sc.ttf"), nested.join("tiny_sc.ttf")).unwrap();
        let font = search_in(vec![home.path().join(".local/share/fonts")]).find().unwrap();
        assert_eq!(font.path, nested.join("tiny_sc.ttf"));
        assert_eq!(font.family, "Themeshift Test SC");
    }

    #[test]
    fn the_variable_wins_over_folders_and_a_bad_one_stops_the_run() {
        let search = FontSearch { variable: Some(fixture("tiny_sc.ttf")), ..search_in(Vec::new()) };
        assert!(search.find().unwrap().path.ends_with("tiny_sc.ttf"));
        let bad = FontSearch { variable: Some(fixture("make_fonts.py")), ..search_in(vec![fixture("")]) };
        let err = bad.find().err().unwrap().to_string();
        assert!(err.contains("THEMESHIFT_FONT=") && err.contains("make_fonts.py"), "{err}");
    }

    #[test]
    fn the_simplified_face_of_a_collection_is_chosen_and_moved_to_the_front() {
        let font = load(&fixture("two_faces.ttc"), None).unwrap();
        assert_eq!((font.face, font.family.as_str()), (1, "Themeshift Test SC"));
        // What plotters reads by default (face 0) is now the chosen face.
        let front = ttf_parser::Face::parse(font.bytes, 0).unwrap();
        assert_eq!(family_name(&front), "Themeshift Test SC");
        assert!(covers(&font, "中国 发展"));
        assert!(!covers(&font, "俄罗斯"));
    }

    #[test]
    fn locale_tags_in_family_names_rank_simplified_first() {
        assert!(simplified_score("Noto Sans CJK SC") > simplified_score("Noto Sans CJK JP"));
        assert!(simplified_score("Source Han Sans CN") > simplified_score("WenQuanYi Micro Hei"));
        assert!(simplified_score("WenQuanYi Micro Hei") > simplified_score("Noto Sans CJK TC"));
    }
}
