//! govfeeds republishes the news of Kazakhstan's government portal (www.gov.kz) as clean
//! RSS 2.0 and Atom 1.0 feeds: one feed per ministry and one combined feed.
//!
//! Data flows one way:
//!
//! ```text
//! sources ──> items ──> store ──> render ──> publish ──> serve
//! (source)   (item,     (store)   (render)   (publish)    (serve)
//!             body,
//!             identity,
//!             classify)
//! ```
//!
//! - [`config`] reads and validates the TOML configuration; [`schedule`] parses its cron
//!   expressions.
//! - [`source`] reads inputs: [`source::plan`] says what each kind of source reads,
//!   [`source::dump`] parses text dumps as a stream (from the files a [`dump_glob`] names) and
//!   makes each entry an item, [`source::feed`] maps upstream feeds, [`source::fetch`] polls.
//! - [`item`] is the normalized [`item::Item`]: [`body`] restores its paragraphs and lists
//!   (the rules: [`restore`]), [`identity`] gives it a canonical key and GUID, [`classify`]
//!   picks its feed (ids: [`feed_id`]) and [`names`] names its entity, [`language`] tags its
//!   language, [`text`] keeps the text XML-safe.
//! - [`store`] keeps every item in SQLite, deduplicated by identity, one file per family of
//!   tables, with its full-text index ([`search`]: the query language, folding and stemming);
//!   [`lock`] keeps a second process off its state folder.
//! - [`render`] writes RSS, Atom and JSON Feed documents and the HTML pages; [`gate`] reads
//!   each feed back and checks it before [`publish`] replaces files atomically.
//! - [`pipeline`] runs the flow: prepares a source's input, ingests it, publishes what changed;
//!   once for `govfeeds build`, per source for the daemon.
//! - [`serve`] answers HTTP from an in-memory snapshot; [`status`] feeds `/healthz` and
//!   `/metrics`; [`daemon`] schedules sources, reloads, shuts down and talks to systemd;
//!   [`shutdown`] is the stop request they share.
//! - [`cli`] is the command line.
//!
//! Where a change goes:
//! - a new kind of source: its config in [`config`] (`SourceKind`), what it reads in
//!   [`source::plan`], how its bytes become items in a module of [`source`];
//! - a new output format: a file in [`render`] (like `render/json.rs`), listed by
//!   `render::site_paths` or `render::feed_documents`;
//! - an HTTP response header: `serve/headers.rs` for documents, `serve/error.rs` for the
//!   answers that are not documents; a new endpoint: `serve/mod.rs` (`respond`);
//! - a new table or query: a file of [`store`] for its family, a migration in
//!   `store/migrations/`;
//! - a new search filter: `search/query.rs` (parsing and its field token), `store/search.rs`
//!   (its SQL) and `store/indexing.rs` (the token in each index row).

pub mod body;
pub mod classify;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod dump_glob;
pub mod feed_id;
pub mod gate;
pub mod identity;
pub mod item;
pub mod language;
pub mod lock;
pub mod names;
pub mod pipeline;
pub mod publish;
pub mod render;
pub mod restore;
pub mod schedule;
pub mod search;
pub mod serve;
pub mod shutdown;
pub mod source;
pub mod status;
pub mod store;
pub mod text;
