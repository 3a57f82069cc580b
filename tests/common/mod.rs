//! Shared test helpers: a sandbox holding a copy of the bundled config and fixture dumps, and
//! independent parsers for what govfeeds writes.

#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};

use govfeeds::config::Config;

/// A temp dir laid out like the repository: `config/govfeeds.toml`, `config/dumps/`, `var/`.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    /// The bundled config with the given fixture dumps in `config/dumps/`.
    pub fn new(dumps: &[&str]) -> Sandbox {
        let dir = tempfile::tempdir().expect("temp dir");
        let config_dir = dir.path().join("config");
        std::fs::create_dir_all(config_dir.join("dumps")).expect("mkdir");
        std::fs::copy(
            repo("config/govfeeds.toml"),
            config_dir.join("govfeeds.toml"),
        )
        .expect("copy config");
        let sandbox = Sandbox { dir };
        for dump in dumps {
            sandbox.add_dump(dump);
        }
        sandbox
    }

    /// Copies fixture `name` into `config/dumps/`.
    pub fn add_dump(&self, name: &str) {
        std::fs::copy(
            repo(&format!("tests/fixtures/{name}")),
            self.path("config/dumps").join(name),
        )
        .expect("copy dump");
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub fn config_path(&self) -> PathBuf {
        self.path("config/govfeeds.toml")
    }

    pub fn config(&self) -> Config {
        Config::load(&self.config_path()).expect("sandbox config is valid")
    }

    /// Replaces `from` with `to` in the sandbox's config file.
    pub fn edit_config(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.config_path()).expect("read config");
        assert!(text.contains(from), "config has no {from:?}");
        std::fs::write(self.config_path(), text.replacen(from, to, 1)).expect("write config");
    }

    pub fn feed_path(&self, id: &str, extension: &str) -> PathBuf {
        self.path(&format!("var/public/feeds/{id}.{extension}"))
    }

    /// Parses a published feed with feed-rs.
    pub fn feed(&self, id: &str, extension: &str) -> feed_rs::model::Feed {
        parse_feed(&self.feed_path(id, extension))
    }
}

pub fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Parses a feed file with feed-rs, after checking it is well-formed XML with quick-xml.
pub fn parse_feed(path: &Path) -> feed_rs::model::Feed {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_well_formed(&bytes);
    feed_rs::parser::parse(&bytes[..]).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Reads every event of `xml` with quick-xml; panics on the first error.
pub fn assert_well_formed(xml: &[u8]) {
    let mut reader = quick_xml::Reader::from_reader(xml);
    reader.config_mut().check_end_names = true;
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("not well-formed at byte {}: {e}", reader.buffer_position()),
        }
        buf.clear();
    }
}
