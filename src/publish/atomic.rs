//! Publishing documents to `output_dir`: a file is replaced only when its bytes change, and
//! always atomically (temp file in the same folder, fsync, rename, fsync of the folder), so
//! a reader or a crash never sees a torn file.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` unless the file already holds exactly them.
/// Returns whether the file was (re)written.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> io::Result<bool> {
    if let Ok(existing) = fs::read(path)
        && existing == bytes
    {
        return Ok(false);
    }
    write_atomic(path, bytes)?;
    Ok(true)
}

/// Replaces `path` with `bytes` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Removes the feed documents in `dir` that are not in `keep`, and temp files left by a crash.
/// Only files with the given extensions (and our temp files) are touched.
pub fn remove_stale(
    dir: &Path,
    keep: &HashSet<PathBuf>,
    extensions: &[&str],
) -> io::Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(removed),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let is_temp = name.starts_with('.') && name.contains(".tmp-");
        let is_doc = path
            .extension()
            .is_some_and(|e| extensions.iter().any(|x| e == *x));
        if (is_temp || is_doc) && !keep.contains(&path) {
            fs::remove_file(&path)?;
            removed.push(path);
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_only_on_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feeds/a.rss");
        assert!(write_if_changed(&path, b"one").unwrap());
        assert!(!write_if_changed(&path, b"one").unwrap());
        assert!(write_if_changed(&path, b"two").unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp file left behind");
    }

    #[test]
    fn removes_only_stale_documents() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "keep.rss",
            "old.rss",
            "old.atom",
            "notes.txt",
            ".x.rss.tmp-1",
        ] {
            fs::write(dir.path().join(name), b"x").unwrap();
        }
        let keep = HashSet::from([dir.path().join("keep.rss")]);
        let mut removed = remove_stale(dir.path(), &keep, &["rss", "atom"]).unwrap();
        removed.sort();
        let names: Vec<_> = removed
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(names, vec![".x.rss.tmp-1", "old.atom", "old.rss"]);
        assert!(dir.path().join("notes.txt").exists());
    }
}
