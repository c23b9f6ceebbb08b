//! A run's outputs appear whole or not at all. A run writes into a staging folder beside `--out`
//! (`.<name>.staging-<pid>`) and, once every file is written, swaps it with the output folder in
//! one step (Linux `renameat2(RENAME_EXCHANGE)`; elsewhere two renames) and removes the previous
//! run. An error, Ctrl-C or a crash at any moment leaves the previous complete run in place (plus,
//! after a crash, a staging folder that the next run into the same folder removes).
//!
//! A lock file beside the output folder (`.<name>.lock`, holding the writer's process id) keeps two
//! runs from writing the same folder: the second is refused with the first one's pid; a lock whose
//! process is gone is taken over, and the run says so.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The folder a run writes into, swapped into place by [`Staging::commit`].
pub struct Staging {
    /// Where the run writes its files.
    pub dir: PathBuf,
    out: PathBuf,
    lock: PathBuf,
    /// What became of a stale lock, if one was taken over.
    pub note: Option<String>,
    committed: bool,
}

impl Staging {
    /// Lock `out` and create an empty staging folder beside it (removing staging folders that
    /// crashed runs left).
    pub fn begin(out: &Path) -> Result<Staging> {
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| Error::Config(format!("--out {}: name a folder, not a root or '..'", out.display())))?;
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let unwritable =
            |e: std::io::Error| Error::write(out, format!("{e}; choose another --out folder or fix its permissions"));
        std::fs::create_dir_all(&parent).map_err(unwritable)?;
        if out.exists() && !out.is_dir() {
            return Err(Error::write(out, "exists and is not a folder; choose another --out"));
        }
        let lock = parent.join(format!(".{name}.lock"));
        let note = take_lock(&lock, out).map_err(|e| match e {
            Error::Io { error, .. } => unwritable(error),
            other => other,
        })?;
        if let Ok(entries) = std::fs::read_dir(&parent) {
            let prefix = format!(".{name}.staging-");
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let dir = parent.join(format!(".{name}.staging-{}", std::process::id()));
        if let Err(e) = std::fs::create_dir(&dir) {
            let _ = std::fs::remove_file(&lock);
            return Err(unwritable(e));
        }
        Ok(Staging { dir, out: out.to_path_buf(), lock, note, committed: false })
    }

    /// Start from the output folder's current files (hard links, copies where links fail): for
    /// commands that replace some files of a run and keep the rest.
    pub fn carry_over(&self) -> Result<()> {
        if self.out.is_dir() {
            link_tree(&self.out, &self.dir)?;
        }
        Ok(())
    }

    /// Put the finished run in place of the previous one, in one step, and remove the previous.
    pub fn commit(mut self) -> Result<()> {
        if self.out.exists() {
            swap(&self.dir, &self.out)?;
            // The staging name now holds the previous run.
            std::fs::remove_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        } else {
            std::fs::rename(&self.dir, &self.out).map_err(|e| Error::io(&self.out, e))?;
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
        let _ = std::fs::remove_file(&self.lock);
    }
}

/// Mirror `from` into the empty folder `to` by hard links (a replaced file gets a new inode, so
/// the original is never touched).
fn link_tree(from: &Path, to: &Path) -> Result<()> {
    for entry in std::fs::read_dir(from).map_err(|e| Error::io(from, e))? {
        let entry = entry.map_err(|e| Error::io(from, e))?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().map_err(|e| Error::io(&source, e))?;
        if kind.is_dir() {
            std::fs::create_dir(&target).map_err(|e| Error::io(&target, e))?;
            link_tree(&source, &target)?;
        } else if std::fs::hard_link(&source, &target).is_err() {
            std::fs::copy(&source, &target).map_err(|e| Error::io(&target, e))?;
        }
    }
    Ok(())
}

/// Exchange two folders atomically where the system can.
fn swap(a: &Path, b: &Path) -> Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
            Ok(()) => return Ok(()),
            // Filesystems without the exchange fall through to two renames.
            Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {}
            Err(e) => return Err(Error::io(b, e.into())),
        }
    }
    let aside = a.with_extension("previous");
    std::fs::rename(b, &aside).map_err(|e| Error::io(b, e))?;
    std::fs::rename(a, b).map_err(|e| Error::io(b, e))?;
    std::fs::rename(&aside, a).map_err(|e| Error::io(a, e))
}

/// Create the lock file, or explain who holds it; a lock of a process that is gone is taken over.
fn take_lock(lock: &Path, out: &Path) -> Result<Option<String>> {
    let mut note = None;
    for _ in 0..2 {
        match std::fs::OpenOptions::new().write(true).create_new(true).open(lock) {
            Ok(mut file) => {
                use std::io::Write;
                let _ = writeln!(file, "{}", std::process::id());
                return Ok(note);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let holder = std::fs::read_to_string(lock).ok().and_then(|t| t.trim().parse::<u32>().ok());
                match holder {
                    Some(pid) if alive(pid) => {
                        return Err(Error::Config(format!(
                            "another themeshift process (pid {pid}) is writing into {}; wait for it to finish, \
                             or choose another --out (its lock: {})",
                            out.display(),
                            lock.display()
                        )))
                    }
                    _ => {
                        note = Some(format!(
                            "took over the lock of {} left by process {} (no longer running)",
                            out.display(),
                            holder.map_or("?".to_string(), |p| p.to_string())
                        ));
                        let _ = std::fs::remove_file(lock);
                    }
                }
            }
            Err(e) => return Err(Error::io(lock, e)),
        }
    }
    Err(Error::Config(format!("{}: could not take the lock of the output folder", lock.display())))
}

/// Whether process `pid` exists (on systems without /proc: assume it does, the safe answer).
fn alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc = Path::new("/proc");
    !proc.is_dir() || proc.join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A temporary folder holding a previous run `run/` with `files` (path, content).
    fn previous_run(files: &[(&str, &[u8])]) -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("run");
        for (file, content) in files {
            let path = out.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        (tmp, out)
    }

    #[test]
    fn a_committed_run_replaces_the_previous_one_whole() {
        let (tmp, out) = previous_run(&[("stale.parquet", b"old")]);
        let staging = Staging::begin(&out).unwrap();
        std::fs::write(staging.dir.join("new.parquet"), b"new").unwrap();
        staging.commit().unwrap();
        let names: Vec<String> =
            std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["new.parquet"]);
        let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, [std::ffi::OsString::from("run")], "no staging folder or lock left");
    }

    #[test]
    fn an_abandoned_run_leaves_the_previous_one_untouched() {
        let (tmp, out) = previous_run(&[("kept.parquet", b"old")]);
        let staging = Staging::begin(&out).unwrap();
        std::fs::write(staging.dir.join("half.parquet"), b"half").unwrap();
        drop(staging);
        assert_eq!(std::fs::read(out.join("kept.parquet")).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_partial_rewrite_keeps_the_other_files_and_never_touches_the_originals_before_commit() {
        let (_tmp, out) = previous_run(&[
            ("documents.parquet", b"documents"),
            ("topics.parquet", b"old topics"),
            ("charts/topics.png", b"old chart"),
        ]);
        let staging = Staging::begin(&out).unwrap();
        staging.carry_over().unwrap();
        crate::write::atomic::write_bytes(&staging.dir.join("topics.parquet"), b"new topics").unwrap();
        assert_eq!(std::fs::read(out.join("topics.parquet")).unwrap(), b"old topics", "the original changed early");
        staging.commit().unwrap();
        assert_eq!(std::fs::read(out.join("topics.parquet")).unwrap(), b"new topics");
        assert_eq!(std::fs::read(out.join("documents.parquet")).unwrap(), b"documents");
        assert_eq!(std::fs::read(out.join("charts/topics.png")).unwrap(), b"old chart");
    }

    #[test]
    fn a_second_writer_is_refused_and_a_stale_lock_is_taken_over() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("run");
        let first = Staging::begin(&out).unwrap();
        let err = Staging::begin(&out).err().unwrap().to_string();
        assert!(err.contains(&format!("pid {}", std::process::id())) && err.contains("choose another --out"), "{err}");
        drop(first);
        // A lock left by a process that no longer exists (pids above the kernel's limit never do).
        std::fs::write(tmp.path().join(".run.lock"), "4194305\n").unwrap();
        let taken = Staging::begin(&out).unwrap();
        assert!(taken.note.as_deref().unwrap_or("").contains("4194305"), "{:?}", taken.note);
    }
}
