//! The command line: `govfeeds build | serve | check | search`, logging setup, and exit codes.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::{Config, SourceKind};
use crate::pipeline;

/// Republishes gov.kz news as RSS 2.0 and Atom 1.0 feeds.
#[derive(Debug, Parser)]
#[command(name = "govfeeds", version, about, propagate_version = true)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read every source once, update the item store, write the feeds, print a summary.
    Build {
        /// The configuration file.
        #[arg(long, short, default_value = "config/govfeeds.toml")]
        config: PathBuf,
    },
    /// Build once, then serve the feeds over HTTP and re-read each source on its schedule.
    Serve {
        /// The configuration file.
        #[arg(long, short, default_value = "config/govfeeds.toml")]
        config: PathBuf,
    },
    /// Validate a configuration and print what it resolves to, without touching anything.
    Check {
        /// The configuration file.
        #[arg(long, short, default_value = "config/govfeeds.toml")]
        config: PathBuf,
    },
    /// Search the item store (read-only) and print the newest matches, as a topic would.
    Search {
        /// The configuration file.
        #[arg(long, short, default_value = "config/govfeeds.toml")]
        config: PathBuf,
        /// Print the SQL that runs (for the sqlite3 shell) instead of the matches.
        #[arg(long)]
        sql: bool,
        /// The query, in the search language (README, "Search").
        query: String,
    },
}

/// Log output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (colours only on a terminal).
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Process exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything worked.
    Ok = 0,
    /// The run failed, or some source failed (the others were still processed).
    Failure = 1,
    /// The configuration (or the command line) is invalid; nothing was written.
    Config = 2,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// Parses the command line, runs the command, and returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    run(cli.command).into()
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false)
            .init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn load(path: &std::path::Path) -> Result<Config, Exit> {
    Config::load(path).map_err(|e| {
        eprintln!("error: {e}");
        Exit::Config
    })
}

/// Runs one command.
pub fn run(command: Command) -> Exit {
    match command {
        Command::Build { config } => {
            let config = match load(&config) {
                Ok(c) => c,
                Err(exit) => return exit,
            };
            match pipeline::run(config) {
                Ok(summary) => {
                    println!("{summary}");
                    if summary.is_clean() {
                        Exit::Ok
                    } else {
                        Exit::Failure
                    }
                }
                Err(e) => {
                    eprintln!("error: build failed: {e}");
                    Exit::Failure
                }
            }
        }
        Command::Serve { config } => match crate::daemon::main(config) {
            Ok(()) => Exit::Ok,
            Err(crate::daemon::DaemonError::Config(e)) => {
                eprintln!("error: {e}");
                Exit::Config
            }
            Err(e) => {
                eprintln!("error: {e}");
                Exit::Failure
            }
        },
        Command::Check { config } => match load(&config) {
            Ok(config) => {
                print!("{}", describe(&config));
                Exit::Ok
            }
            Err(exit) => exit,
        },
        Command::Search { config, sql, query } => match load(&config) {
            Ok(config) => search(&config, &query, sql),
            Err(exit) => exit,
        },
    }
}

/// `govfeeds search`: the newest `max_items` matches of `text`, one line each, or its SQL.
fn search(config: &Config, text: &str, sql: bool) -> Exit {
    let query = match crate::search::Query::parse(text) {
        Ok(query) => query,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Config;
        }
    };
    let tz = config.site.timezone;
    let store = crate::store::Store::open_reader(&config.paths.state_dir);
    if sql {
        return match store {
            Ok(store) => {
                println!("{}", store.search_sql_text(&query, tz, config.max_items));
                Exit::Ok
            }
            Err(e) => {
                eprintln!("error: {e}");
                Exit::Failure
            }
        };
    }
    let found = store.and_then(|store| store.search(&query, tz, 0, config.max_items));
    match found {
        Ok(results) => {
            for item in &results.items {
                println!(
                    "{}  {:<12} {}",
                    item.published.format("%Y-%m-%d"),
                    item.feed,
                    item.title
                );
            }
            Exit::Ok
        }
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Failure
        }
    }
}

/// What a config resolves to, for `govfeeds check`.
pub fn describe(config: &Config) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let site = &config.site;
    let _ = writeln!(out, "config:      {} (valid)", config.file.display());
    let _ = writeln!(
        out,
        "site:        {:?}, {} ({}, {})",
        site.title, site.base_url, site.timezone, site.language
    );
    let _ = writeln!(
        out,
        "state:       {}",
        config.paths.state_dir.join(crate::store::DB_FILE).display()
    );
    let _ = writeln!(
        out,
        "output:      {}",
        config.paths.output_dir.join("feeds").display()
    );
    let _ = writeln!(
        out,
        "feeds:       {}feeds/<id>.rss, .atom, .json and .html, newest {} items",
        site.base_url, config.max_items
    );
    if !config.languages.is_empty() {
        let _ = writeln!(
            out,
            "languages:   {}feeds/<id>.<lang>.atom for {}",
            site.base_url,
            config.languages.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "dedup:       ignoring query parameters {}",
        config.ignore_params.patterns.join(", ")
    );
    let fetch = &config.fetch;
    let _ = writeln!(
        out,
        "listen:      {} (govfeeds serve)",
        config.server.listen
    );
    let _ = writeln!(
        out,
        "fetch:       connect {}s, total {}s, body up to {} MiB, backoff up to {}s",
        fetch.connect_timeout.as_secs(),
        fetch.timeout.as_secs(),
        fetch.max_body_bytes / (1024 * 1024),
        fetch.max_backoff.as_secs()
    );
    let _ = writeln!(out, "sources:");
    for s in &config.sources {
        let input = source_input(&s.kind);
        let every = s
            .schedule
            .interval(site.timezone)
            .map(|d| format!(", every {} min", d.num_minutes().max(1)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {:<20} {input}; schedule \"{}\"{every}",
            s.name, s.schedule
        );
    }
    describe_ministries(&mut out, config);
    let _ = writeln!(
        out,
        "unattributed: {} {}",
        config.unattributed.id, config.unattributed.title
    );
    let _ = writeln!(out, "other slugs: a feed of their own, id = the slug");
    describe_topics(&mut out, config);
    out
}

/// What a source reads, in one line.
fn source_input(kind: &SourceKind) -> String {
    match kind {
        SourceKind::DumpFiles { glob } => {
            let files = glob
                .files()
                .map_or_else(|e| e, |f| format!("{} file(s)", f.len()));
            format!("dump {} ({files})", glob.pattern())
        }
        SourceKind::DumpUrl { url } => format!("dump {url}"),
        SourceKind::Feed { url, ministry } => match ministry {
            Some(m) => format!("feed {url} (all items to {m})"),
            None => format!("feed {url}"),
        },
        SourceKind::GovKz {
            entities,
            lang,
            endpoint,
            pause,
            ..
        } => format!(
            "govkz {} ({lang}) from {endpoint}, {} ms apart",
            entities.join(", "),
            pause.as_millis()
        ),
    }
}

/// The ministries, their entity globs and keywords.
fn describe_ministries(out: &mut String, config: &Config) {
    use std::fmt::Write;
    let _ = writeln!(out, "ministries:");
    for m in &config.ministries {
        let _ = writeln!(out, "  {:<20} {}", m.feed.id, m.feed.title);
        let _ = writeln!(
            out,
            "  {:<20}   entities: {}",
            "",
            m.entity_patterns.join(", ")
        );
        if !m.keywords.is_empty() {
            let _ = writeln!(out, "  {:<20}   keywords: {}", "", m.keywords.join(", "));
        }
    }
}

/// The topics and their queries (as the search reads them).
fn describe_topics(out: &mut String, config: &Config) {
    use std::fmt::Write;
    for topic in &config.topics {
        let _ = writeln!(
            out,
            "topic:       {} {} (query: {})",
            topic.feed.id,
            topic.feed.title,
            topic.query.normalized()
        );
    }
}
