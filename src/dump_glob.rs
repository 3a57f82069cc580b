//! The files a dump source's `path` names: one file, or a glob (`*`, `?`, `[…]`, `{a,b}`, and
//! `**` for any depth of folders). The folders under the glob's literal base are walked
//! without following links to folders, so a link loop (`dumps/self -> .`) cannot make the walk
//! endless; a link to a file is read, and each real file (device and inode) only once.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};

/// A dump `path`, compiled.
#[derive(Debug, Clone)]
pub struct DumpGlob {
    pattern: String,
    /// The longest leading part of the pattern without glob syntax: where the walk starts.
    base: PathBuf,
    /// How deep below `base` a match can lie; `None` with `**`.
    depth: Option<usize>,
    matcher: GlobMatcher,
}

impl DumpGlob {
    /// Compiles `pattern` (an absolute or relative path, possibly with glob syntax).
    pub fn new(pattern: &str) -> Result<DumpGlob, globset::Error> {
        let matcher = GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()?
            .compile_matcher();
        let mut base = PathBuf::new();
        let mut rest = 0;
        let mut unbounded = false;
        for component in Path::new(pattern).components() {
            let text = component.as_os_str().to_string_lossy();
            let literal = rest == 0 && !text.contains(['*', '?', '[', '{', '\\']);
            if literal {
                base.push(component);
            } else {
                rest += 1;
                unbounded |= text.contains("**");
            }
        }
        Ok(DumpGlob {
            pattern: pattern.to_string(),
            base,
            depth: (!unbounded).then_some(rest),
            matcher,
        })
    }

    /// The pattern as written.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The files the pattern matches now, sorted by path; a file reached twice (through a
    /// link) is listed once, under its first path.
    pub fn files(&self) -> Result<Vec<PathBuf>, String> {
        let mut walk = walkdir::WalkDir::new(&self.base)
            .follow_links(false)
            .sort_by_file_name();
        if let Some(depth) = self.depth {
            walk = walk.max_depth(depth);
        }
        let mut seen = HashSet::new();
        let mut files = Vec::new();
        for entry in walk.into_iter().filter_map(Result::ok) {
            let path = entry.path();
            if !self.matcher.is_match(path) {
                continue;
            }
            // A link is followed to see what it names; a link to a folder is not walked.
            let Ok(meta) = std::fs::metadata(path) else {
                continue;
            };
            if meta.is_file() && seen.insert((meta.dev(), meta.ino())) {
                files.push(path.to_path_buf());
            }
        }
        if files.is_empty() {
            return Err(format!("no file matches {}", self.pattern));
        }
        files.sort();
        Ok(files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(glob: &str, root: &Path) -> Vec<String> {
        let pattern = format!("{}/{glob}", root.display());
        DumpGlob::new(&pattern)
            .unwrap()
            .files()
            .unwrap_or_default()
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn star_stays_in_its_folder_and_double_star_descends() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("dumps/2026/02")).unwrap();
        for f in [
            "dumps/b.txt",
            "dumps/a.txt",
            "dumps/2026/02/c.txt",
            "dumps/x.md",
        ] {
            std::fs::write(root.join(f), "x").unwrap();
        }
        assert_eq!(names("dumps/*.txt", root), ["dumps/a.txt", "dumps/b.txt"]);
        assert_eq!(
            names("dumps/**/*.txt", root),
            ["dumps/2026/02/c.txt", "dumps/a.txt", "dumps/b.txt"]
        );
        assert_eq!(names("dumps/a.txt", root), ["dumps/a.txt"]);
        assert_eq!(names("dumps/{a,x}.*", root), ["dumps/a.txt", "dumps/x.md"]);
        assert!(names("nothing/*.txt", root).is_empty());
    }

    #[test]
    fn link_loops_are_not_followed_and_each_file_is_read_once() {
        let dir = tempfile::tempdir().unwrap();
        let dumps = dir.path().join("dumps");
        std::fs::create_dir_all(dumps.join("sub")).unwrap();
        std::fs::write(dumps.join("a.txt"), "x").unwrap();
        std::fs::write(dumps.join("sub/b.txt"), "x").unwrap();
        for (link, target) in [("self", "."), ("again", "."), ("up", "..")] {
            std::os::unix::fs::symlink(target, dumps.join(link)).unwrap();
        }
        std::os::unix::fs::symlink("a.txt", dumps.join("z-link.txt")).unwrap();
        assert_eq!(
            names("dumps/**/*.txt", dir.path()),
            ["dumps/a.txt", "dumps/sub/b.txt"]
        );
    }
}
