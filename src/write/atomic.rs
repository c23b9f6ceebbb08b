//! Atomic output: every file is written under a temporary name in its final folder and renamed
//! into place, so an interrupted run leaves either the old file or the new one, never half of one.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The temporary sibling of `path`; it keeps the extension, which some encoders look at.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".tmp-{}-{name}", std::process::id()))
}

/// Write through `fill` into a temporary file, sync it, then rename it to `path`.
pub fn write_with(path: &Path, fill: impl FnOnce(&mut BufWriter<File>) -> Result<()>) -> Result<()> {
    let temp = temp_path(path);
    let result = (|| {
        let file = File::create(&temp).map_err(|e| Error::io(&temp, e))?;
        let mut writer = BufWriter::new(file);
        fill(&mut writer)?;
        let file = writer.into_inner().map_err(|e| Error::io(&temp, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(&temp, e))
    })();
    match result {
        Ok(()) => std::fs::rename(&temp, path).map_err(|e| Error::io(path, e)),
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            Err(e)
        }
    }
}

/// Rename a file some other writer produced at [`temp_path`] into place.
pub fn commit(path: &Path) -> Result<()> {
    std::fs::rename(temp_path(path), path).map_err(|e| Error::io(path, e))
}

pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, |w| w.write_all(bytes).map_err(|e| Error::io(path, e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_fill_leaves_neither_temp_nor_target() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let err = write_with(&path, |_| Err(Error::Config("boom".into())));
        assert!(err.is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        write_bytes(&path, b"ok").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"ok");
    }
}
