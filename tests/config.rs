//! Config validation: each class of mistake is reported with file, line:column, key and what
//! is expected; the bundled config is valid and documents every key.

mod common;

use common::{Sandbox, repo};
use govfeeds::config::{Config, ConfigError};

fn error_for(sandbox: &Sandbox, from: &str, to: &str) -> ConfigError {
    sandbox.edit_config(from, to);
    let err = Config::load(&sandbox.config_path()).expect_err("config should be rejected");
    let text = std::fs::read_to_string(sandbox.config_path()).unwrap();
    // The position points into the edited line.
    let (line, _) = err.position.expect("error has a position");
    let edited = text.lines().nth(line - 1).unwrap();
    assert!(
        edited.contains(to.lines().last().unwrap().trim()) || to.contains(edited.trim()),
        "line {line} is {edited:?}"
    );
    err
}

fn case(from: &str, to: &str, key: &str, expected: &str) {
    let sandbox = Sandbox::new(&["seed.txt"]);
    let err = error_for(&sandbox, from, to);
    assert_eq!(err.key.as_deref(), Some(key), "{err}");
    let shown = err.to_string();
    assert!(
        shown.starts_with(&sandbox.config_path().display().to_string()),
        "{shown}"
    );
    assert!(
        shown.contains(expected),
        "{shown:?} should mention {expected:?}"
    );
}

#[test]
fn unknown_key() {
    case(
        "max_items = 50",
        "max_items = 50\nmax_itmes = 5",
        "feeds.max_itmes",
        "unknown field `max_itmes`",
    );
}

#[test]
fn wrong_type() {
    case(
        "max_items = 50",
        "max_items = \"fifty\"",
        "feeds.max_items",
        "expected i64",
    );
}

#[test]
fn out_of_range_number() {
    case(
        "max_items = 50",
        "max_items = 0",
        "feeds.max_items",
        "from 1 to 10000",
    );
}

#[test]
fn bad_cron() {
    case(
        "schedule = \"*/15 * * * *\"",
        "schedule = \"*/15 * * *\"",
        "source[0].schedule",
        "invalid cron expression",
    );
}

#[test]
fn unknown_time_zone() {
    case(
        "timezone = \"Asia/Almaty\"",
        "timezone = \"Asia/Alma-Ata-X\"",
        "site.timezone",
        "IANA name",
    );
}

#[test]
fn bad_entity_glob() {
    case(
        "entities = [\"mfa\", \"mfa-*\"]",
        "entities = [\"mfa\", \"mfa-[\"]",
        "ministry[0].entities[1]",
        "invalid glob",
    );
}

#[test]
fn bad_ignore_param_glob() {
    case(
        "ignore_params = [\"lang\", \"utm_*\"]",
        "ignore_params = [\"lang\", \"utm_{\"]",
        "dedup.ignore_params[1]",
        "invalid glob",
    );
}

#[test]
fn duplicate_ministry_id() {
    case(
        "id = \"mti\"",
        "id = \"mfa\"",
        "ministry[1].id",
        "duplicate feed id \"mfa\"",
    );
}

#[test]
fn reserved_feed_id() {
    case(
        "id = \"other\"",
        "id = \"all\"",
        "unattributed.id",
        "reserved for the combined feed",
    );
}

#[test]
fn missing_dump_file() {
    case(
        "path = \"dumps/*.txt\"",
        "path = \"dumps/missing.txt\"",
        "source[0].path",
        "no file matches",
    );
}

#[test]
fn bad_base_url() {
    case(
        "base_url = \"http://127.0.0.1:8080/\"",
        "base_url = \"feeds/\"",
        "site.base_url",
        "absolute http(s) URL",
    );
}

#[test]
fn bad_language() {
    case(
        "language = \"en\"",
        "language = \"english language\"",
        "site.language",
        "language tag",
    );
}

#[test]
fn unknown_source_kind() {
    case(
        "kind = \"dump\"",
        "kind = \"rss\"",
        "source[0].kind",
        "unknown variant `rss`",
    );
}

#[test]
fn bad_listen_address() {
    case(
        "listen = \"127.0.0.1:8080\"",
        "listen = \"localhost\"",
        "server.listen",
        "address and port",
    );
}

#[test]
fn path_and_url_together() {
    case(
        "path = \"dumps/*.txt\"",
        "path = \"dumps/*.txt\"\nurl = \"https://example.org/d.txt\"",
        "source[0].path",
        "`path` or `url`, not both",
    );
}

#[test]
fn url_that_is_not_http() {
    case(
        "path = \"dumps/*.txt\"",
        "url = \"ftp://example.org/d.txt\"",
        "source[0].url",
        "absolute http(s) URL",
    );
}

#[test]
fn timeout_out_of_range() {
    case(
        "timeout_secs = 60",
        "timeout_secs = 0",
        "fetch.timeout_secs",
        "from 1 to 3600",
    );
}

/// The bundled config with its source turned into another kind: `path` replaced by `keys`.
fn source_error(kind: &str, keys: &str) -> ConfigError {
    let sandbox = Sandbox::new(&["seed.txt"]);
    sandbox.edit_config("kind = \"dump\"", &format!("kind = \"{kind}\""));
    sandbox.edit_config("path = \"dumps/*.txt\"", keys);
    Config::load(&sandbox.config_path()).expect_err("config should be rejected")
}

#[test]
fn feed_source_pinned_to_an_unknown_ministry() {
    let err = source_error(
        "feed",
        "url = \"https://example.org/f.xml\"\nministry = \"mfx\"",
    );
    assert_eq!(err.key.as_deref(), Some("source[0].ministry"), "{err}");
    assert!(
        err.to_string().contains("no ministry has id \"mfx\""),
        "{err}"
    );
}

#[test]
fn keys_that_do_not_apply_to_the_kind() {
    case(
        "schedule = \"*/15 * * * *\"",
        "schedule = \"*/15 * * * *\"\nlang = \"ru\"",
        "source[0].lang",
        "does not apply to a dump source",
    );
}

#[test]
fn govkz_needs_entities_and_a_known_language() {
    let err = source_error("govkz", "entities = [\"mfa\"]\nlang = \"de\"");
    assert_eq!(err.key.as_deref(), Some("source[0].lang"), "{err}");
    assert!(
        err.to_string().contains("\"kk\", \"ru\" or \"en\""),
        "{err}"
    );
    let err = source_error("govkz", "lang = \"ru\"");
    assert!(err.to_string().contains("needs `entities`"), "{err}");
    let err = source_error(
        "govkz",
        "entities = [\"mfa\"]\nendpoint = \"https://example.org/rss\"",
    );
    assert_eq!(err.key.as_deref(), Some("source[0].endpoint"), "{err}");
    let ok = Sandbox::new(&["seed.txt"]);
    ok.edit_config("kind = \"dump\"", "kind = \"govkz\"");
    ok.edit_config("path = \"dumps/*.txt\"", "entities = [\"mfa\", \"mti\"]");
    assert!(Config::load(&ok.config_path()).is_ok());
}

#[test]
fn syntax_error() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    sandbox.edit_config("language = \"en\"", "language = \"en");
    let err = Config::load(&sandbox.config_path()).unwrap_err();
    let (line, col) = err.position.unwrap();
    let text = std::fs::read_to_string(sandbox.config_path()).unwrap();
    assert!(
        text.lines().nth(line - 1).unwrap().starts_with("language"),
        "{err}"
    );
    assert!(col > 1, "{err}");
}

#[test]
fn bundled_config_is_valid_and_documents_every_key() {
    let config = Config::load(&repo("config/govfeeds.toml")).unwrap();
    assert_eq!(config.site.timezone, chrono_tz::Asia::Almaty);
    assert!(
        config
            .ministries
            .iter()
            .any(|m| m.feed.id == "mfa" && m.entities.is_match("mfa-madrid"))
    );
    for slug in ["mti", "minfin", "dsm", "edu", "enbek", "emer", "adilet"] {
        assert!(
            config.ministries.iter().any(|m| m.entities.is_match(slug)),
            "{slug} is mapped"
        );
    }
    let text = std::fs::read_to_string(repo("config/govfeeds.toml")).unwrap();
    // Every key the config types accept, as serde lists them for an unknown one.
    let mut keys = Vec::new();
    // The tables: each in the bundled config, or a commented-out example of it.
    for table in accepted_keys(&text, "") {
        let shown = text.lines().any(|l| {
            let l = l.trim_start_matches("# ");
            l.starts_with(&format!("[{table}]"))
                || l.starts_with(&format!("[[{table}]]"))
                || l.starts_with(&format!("[{table}."))
        });
        assert!(shown, "table {table} is not in the bundled config");
    }
    for table in [
        "[site]",
        "[paths]",
        "[feeds]",
        "[dedup]",
        "[[source]]",
        "[server]",
        "[fetch]",
        "[[ministry]]",
        "[unattributed]",
    ] {
        let accepted = accepted_keys(&text, table);
        assert!(!accepted.is_empty(), "{table}: {accepted:?}");
        keys.extend(accepted);
    }
    for key in keys {
        // `key = ...` (or a commented-out `# key = ...` example) with a comment above it or on
        // its line.
        let setting = |l: &str| {
            l.trim_start()
                .trim_start_matches("# ")
                .starts_with(&format!("{key} ="))
        };
        let documented = text
            .lines()
            .collect::<Vec<_>>()
            .windows(2)
            .any(|w| setting(w[1]) && w[0].trim_start().starts_with('#'))
            || text.lines().any(|l| setting(l) && l.contains(" # "));
        assert!(documented, "key {key} has no comment in the bundled config");
    }
}

/// The keys the config types accept in `table` (`""`: the top level), read off the error
/// serde gives for an unknown key put there.
fn accepted_keys(text: &str, table: &str) -> Vec<String> {
    let probe = "an_unknown_key_for_the_test = 1\n";
    let edited = if table.is_empty() {
        format!("{probe}{text}")
    } else {
        let at = text
            .find(&format!("\n{table}\n"))
            .unwrap_or_else(|| panic!("the bundled config has {table}"))
            + table.len()
            + 2;
        format!("{}{probe}{}", &text[..at], &text[at..])
    };
    let err = Config::parse(&repo("config/govfeeds.toml"), &edited).unwrap_err();
    let message = err.to_string();
    let list = message
        .split_once(", expected")
        .unwrap_or_else(|| panic!("{table}: {message}"))
        .1;
    list.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

#[test]
fn a_ministry_with_the_default_unattributed_id() {
    // Without [unattributed], its feed is "other": a ministry of that id would merge with it.
    let sandbox = Sandbox::new(&["seed.txt"]);
    sandbox.edit_config(
        "[unattributed]\n# Feed id and title, as for a ministry. Optional: this is the default.\nid = \"other\"\ntitle = \"Other news\"",
        "",
    );
    let err = error_for(&sandbox, "id = \"mti\"", "id = \"other\"");
    assert_eq!(err.key.as_deref(), Some("ministry[1].id"), "{err}");
    assert!(
        err.to_string().contains("duplicate feed id \"other\""),
        "{err}"
    );
}

#[test]
fn a_language_that_is_not_one_or_is_listed_twice() {
    case(
        "languages = [\"kk\", \"ru\", \"en\"]",
        "languages = [\"xx\", \"kk\"]",
        "feeds.languages[0]",
        "ISO 639-1",
    );
    case(
        "languages = [\"kk\", \"ru\", \"en\"]",
        "languages = [\"kk\", \"ru\", \"kk\"]",
        "feeds.languages[2]",
        "\"kk\" is listed twice",
    );
}

#[test]
fn the_state_inside_the_published_folder() {
    for state in [
        "../var/public",
        "../var/public/state",
        "../var/public/../public/x",
    ] {
        case(
            "state_dir = \"../var/state\"",
            &format!("state_dir = \"{state}\""),
            "paths.state_dir",
            "inside it, so the item store would be published",
        );
    }
}

/// The bundled config's example topic, taken out of its comment.
const TOPIC: &str = "# [[topic]]\n# Feed id (lower-case letters, digits, '-', '_'), unique among topics, and title.\n# id = \"diplomacy\"\n# title = \"Embassies and ambassadors\"";

fn topic_case(query: &str, expected: &str) {
    case(
        TOPIC,
        &format!("[[topic]]\nid = \"diplomacy\"\ntitle = \"Embassies\"\nquery = {query}"),
        "topic[0].query",
        expected,
    );
}

#[test]
fn topic_with_a_malformed_query() {
    topic_case(
        "\"embassy OR\"",
        "OR must stand between two words or phrases",
    );
    topic_case("\"visa fed:mfa\"", "unknown filter \"fed:\"");
    topic_case("\"\"", "the query is empty");
}

#[test]
fn duplicate_topic_id() {
    case(
        TOPIC,
        "[[topic]]\nid = \"visas\"\ntitle = \"x\"\nquery = \"x\"\n[[topic]]\nid = \"visas\"\ntitle = \"y\"\nquery = \"y\"",
        "topic[1].id",
        "duplicate feed id \"visas\"",
    );
}
