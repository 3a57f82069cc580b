//! Full-text search over every stored item: the query language ([`query`]) and the words the
//! index holds ([`words`]). The index itself lives in the store (`store/search.rs`), written
//! in the same transaction as the items, so it never disagrees with them after a crash.

pub mod query;
pub mod snippet;
pub mod words;

pub use self::query::{Query, QueryError};
