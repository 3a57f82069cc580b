//! Shared test helpers: a sandbox holding a copy of the bundled config and fixture dumps, and
//! independent parsers for what govfeeds writes.

#![allow(dead_code)] // each test binary uses a different subset

pub mod disk;
pub mod upstream;

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

/// Parses a feed file with feed-rs, after checking it is well-formed XML with quick-xml (or
/// valid JSON with serde_json, for JSON Feed).
pub fn parse_feed(path: &Path) -> feed_rs::model::Feed {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_slice::<serde_json::Value>(&bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    } else {
        assert_well_formed(&bytes);
    }
    feed_rs::parser::parse(&bytes[..]).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An entry's content body (HTML), or empty.
pub fn content(entry: &feed_rs::model::Entry) -> String {
    entry
        .content
        .as_ref()
        .and_then(|c| c.body.clone())
        .unwrap_or_default()
}

/// An entry's title, or empty.
pub fn title(entry: &feed_rs::model::Entry) -> &str {
    entry.title.as_ref().map_or("", |t| t.content.as_str())
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

impl Sandbox {
    /// Sets the first `key = ...` line of the config to `key = value` (value in TOML syntax).
    pub fn set_key(&self, key: &str, value: &str) {
        let text = std::fs::read_to_string(self.config_path()).expect("read config");
        let mut done = false;
        let lines: Vec<String> = text
            .lines()
            .map(|line| {
                if !done && line.starts_with(&format!("{key} =")) {
                    done = true;
                    format!("{key} = {value}")
                } else {
                    line.to_string()
                }
            })
            .collect();
        assert!(done, "config has no key {key}");
        std::fs::write(self.config_path(), lines.join("\n") + "\n").expect("write config");
    }

    /// Appends TOML to the sandbox's config (new tables, or `[[source]]` entries).
    pub fn append_config(&self, toml: &str) {
        let mut text = std::fs::read_to_string(self.config_path()).expect("read config");
        text.push('\n');
        text.push_str(toml);
        std::fs::write(self.config_path(), text).expect("write config");
    }
}

/// An HTTP client that leaves bodies as sent (no automatic decompression).
pub fn raw_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .no_deflate()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .expect("client")
}

/// Sends `GET <path>` exactly as written (no URL normalization) and returns the status code.
pub fn raw_status(addr: std::net::SocketAddr, method: &str, path: &str) -> u16 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .expect("timeout");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response);
    text.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"))
}

/// A daemon running in-process on 127.0.0.1 with a port chosen by the OS.
pub struct Daemon {
    pub addr: std::net::SocketAddr,
    pub control: tokio::sync::mpsc::Sender<govfeeds::daemon::Control>,
    pub task: tokio::task::JoinHandle<Result<(), govfeeds::daemon::DaemonError>>,
}

impl Daemon {
    /// Starts `govfeeds serve` on the sandbox's config and waits until it answers.
    pub async fn start(sandbox: &Sandbox) -> Daemon {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        Daemon::start_on(sandbox, listener).await
    }

    /// Starts the daemon with `site.base_url` set to the address it listens on, so that the
    /// URLs in what it serves are the URLs it is served at.
    pub async fn start_at_base_url(sandbox: &Sandbox) -> Daemon {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        sandbox.set_key("base_url", &format!("\"http://{addr}/\""));
        Daemon::start_on(sandbox, listener).await
    }

    async fn start_on(sandbox: &Sandbox, listener: tokio::net::TcpListener) -> Daemon {
        let addr = listener.local_addr().expect("addr");
        let (control, rx) = tokio::sync::mpsc::channel(4);
        let task = tokio::spawn(govfeeds::daemon::run(
            sandbox.config(),
            sandbox.config_path(),
            listener,
            rx,
        ));
        let daemon = Daemon {
            addr,
            control,
            task,
        };
        for _ in 0..200 {
            if raw_client()
                .get(daemon.url("/metrics"))
                .send()
                .await
                .is_ok()
            {
                return daemon;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("daemon did not answer within 10 s");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn get_text(&self, path: &str) -> String {
        raw_client()
            .get(self.url(path))
            .send()
            .await
            .expect("get")
            .text()
            .await
            .expect("text")
    }

    /// Shuts the daemon down and checks it stopped cleanly.
    pub async fn stop(self) {
        self.control
            .send(govfeeds::daemon::Control::Shutdown)
            .await
            .expect("send");
        let result = tokio::time::timeout(std::time::Duration::from_secs(10), self.task)
            .await
            .expect("stopped within 10 s");
        result.expect("task").expect("clean exit");
    }
}

/// GETs `http://{addr}{path}` (blocking, 5 s at most); `None` when nothing answers.
pub fn http_get(addr: std::net::SocketAddr, path: &str) -> Option<(u16, String)> {
    let client = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .ok()?;
    let response = client.get(format!("http://{addr}{path}")).send().ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().ok()?))
}

/// Calls `done` every 50 ms until it says yes (`true`) or `limit` passes (`false`).
pub fn wait_until(limit: std::time::Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    false
}

/// Waits for `child` to exit, at most `limit`; panics naming `what` if it is still running.
pub fn exit_within(
    child: &mut std::process::Child,
    limit: std::time::Duration,
    what: &str,
) -> std::process::ExitStatus {
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(
            start.elapsed() < limit,
            "{what}: still running after {limit:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Every file under `dir`, recursively, sorted.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The page name of every item in the store at `db`.
pub fn item_pages(db: &Path) -> Vec<String> {
    rusqlite::Connection::open(db)
        .expect("open store")
        .prepare("SELECT page FROM item")
        .expect("select")
        .query_map([], |r| r.get(0))
        .expect("query")
        .map(|row| row.expect("row"))
        .collect()
}

/// A child process that is killed when dropped, so that a failing test leaves no daemon
/// behind.
pub struct Running(pub std::process::Child);

impl std::ops::Deref for Running {
    type Target = std::process::Child;
    fn deref(&self) -> &std::process::Child {
        &self.0
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut std::process::Child {
        &mut self.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Whether `instant` shows as `day` (YYYY-MM-DD) in every time zone from UTC−5 to UTC+9:
/// between 05:00 and 15:00 UTC of that day.
pub fn within_day(instant: chrono::DateTime<chrono::Utc>, day: &str) -> bool {
    let day = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").expect("a date");
    let at = |h| day.and_hms_opt(h, 0, 0).expect("an hour").and_utc();
    (at(5)..at(15)).contains(&instant)
}
