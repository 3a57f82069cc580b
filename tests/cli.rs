//! The `govfeeds` binary as a user runs it: help, version, check, build, exit codes.

mod common;

use std::process::{Command, Output};

use common::Sandbox;

fn govfeeds(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_govfeeds"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run govfeeds")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_and_version() {
    let out = govfeeds(&["--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    assert!(help.contains("build") && help.contains("check"), "{help}");
    let out = govfeeds(&["--version"]);
    assert_eq!(
        text(&out.stdout).trim(),
        format!("govfeeds {}", env!("CARGO_PKG_VERSION"))
    );
    let out = govfeeds(&["build", "--help"]);
    assert!(text(&out.stdout).contains("--config"));
}

#[test]
fn check_prints_the_resolved_config_and_writes_nothing() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    let config = sandbox.config_path();
    let out = govfeeds(&["check", "--config", config.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("enbekshi-world"), "{stdout}");
    assert!(stdout.contains("1 file(s)"), "{stdout}");
    assert!(
        stdout.contains("mfa") && stdout.contains("mfa-*"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&sandbox.path("var/public/feeds").display().to_string()),
        "{stdout}"
    );
    assert!(!sandbox.path("var").exists(), "check must not write");
}

#[test]
fn build_prints_a_summary() {
    let sandbox = Sandbox::new(&["seed.txt", "update.txt"]);
    let config = sandbox.config_path();
    let out = govfeeds(&["build", "--config", config.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("items: 28 read, 24 new, 1 updated, 3 unchanged, 2 skipped"),
        "{stdout}"
    );
    assert!(
        stdout.contains("impossible date: 1") && stdout.contains("title without body: 1"),
        "{stdout}"
    );
    assert!(stdout.contains("24 in store"), "{stdout}");
    // Each skipped entry is reported with file:line.
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("update.txt:19: impossible date 30.02.2026"),
        "{stderr}"
    );
    assert!(
        stderr.contains("update.txt:21: title line without a body line"),
        "{stderr}"
    );
    assert!(
        stderr.contains("update.txt:22: source \"/memleket/"),
        "{stderr}"
    );

    let again = govfeeds(&["build", "--config", config.to_str().unwrap()]);
    assert!(
        text(&again.stdout).contains("files: 0 read, 2 unchanged"),
        "{}",
        text(&again.stdout)
    );
    assert!(
        text(&again.stdout).contains("0 file(s) written"),
        "{}",
        text(&again.stdout)
    );
}

#[test]
fn config_errors_exit_2_and_write_nothing() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    sandbox.edit_config("timezone = \"Asia/Almaty\"", "timezone = \"Mars/Olympus\"");
    let config = sandbox.config_path();
    for command in ["build", "check"] {
        let out = govfeeds(&[command, "--config", config.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{command}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("govfeeds.toml:15:12: key `site.timezone`: unknown time zone"),
            "{stderr}"
        );
    }
    assert!(!sandbox.path("var").exists());
}

#[test]
fn json_logs() {
    let sandbox = Sandbox::new(&["update.txt"]);
    let config = sandbox.config_path();
    let out = govfeeds(&[
        "--log-format",
        "json",
        "build",
        "--config",
        config.to_str().unwrap(),
    ]);
    let stderr = text(&out.stderr);
    let first = stderr.lines().next().expect("a warning is logged");
    assert!(
        first.starts_with('{') && first.contains("\"level\":\"WARN\""),
        "{first}"
    );
}

/// Runs govfeeds with a time limit; `None` if it did not finish in time (then it is killed).
fn govfeeds_within(limit: std::time::Duration, args: &[&str]) -> Option<Output> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_govfeeds"))
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run govfeeds");
    let started = std::time::Instant::now();
    while started.elapsed() < limit {
        if child.try_wait().expect("wait").is_some() {
            return Some(child.wait_with_output().expect("output"));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

#[test]
fn a_double_star_glob_over_link_loops_finishes_and_reads_each_file_once() {
    let sandbox = Sandbox::new(&[]);
    let dumps = sandbox.path("config/dumps");
    std::fs::create_dir_all(dumps.join("2026")).unwrap();
    std::fs::copy(
        common::repo("tests/fixtures/seed.txt"),
        dumps.join("2026/seed.txt"),
    )
    .unwrap();
    std::fs::copy(
        common::repo("tests/fixtures/update.txt"),
        dumps.join("update.txt"),
    )
    .unwrap();
    // Two links to the folder itself, one to its parent, one to a file.
    for (link, target) in [
        ("a", "."),
        ("b", "."),
        ("up", ".."),
        ("seed-link.txt", "2026/seed.txt"),
    ] {
        std::os::unix::fs::symlink(target, dumps.join(link)).unwrap();
    }
    sandbox.edit_config("path = \"dumps/*.txt\"", "path = \"dumps/**/*.txt\"");
    let config = sandbox.config_path();
    let limit = std::time::Duration::from_secs(20);
    let check = govfeeds_within(limit, &["check", "--config", config.to_str().unwrap()])
        .expect("check finishes");
    assert!(check.status.success(), "{}", text(&check.stderr));
    assert!(
        text(&check.stdout).contains("(2 file(s))"),
        "{}",
        text(&check.stdout)
    );
    let build = govfeeds_within(limit, &["build", "--config", config.to_str().unwrap()])
        .expect("build finishes");
    let stdout = text(&build.stdout);
    assert!(stdout.contains("files: 2 read, 0 unchanged"), "{stdout}");
    assert!(stdout.contains("24 in store"), "{stdout}");
}

#[test]
fn a_listen_address_in_use_is_named() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let sandbox = Sandbox::new(&["seed.txt"]);
    sandbox.set_key("listen", &format!("\"{addr}\""));
    let out = govfeeds(&["serve", "--config", sandbox.config_path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "cannot listen on {addr} ([server] listen): Address already in use"
        )),
        "{stderr}"
    );
}
