//! Feed ids: what may name a feed (and its files), the combined feed's reserved id, and which
//! items a feed selects.

/// The feed id of the combined feed; no ministry may use it.
pub const COMBINED_ID: &str = "all";

/// What the ids of topic feeds begin with: their files are `feeds/topic/<id>.*`, a folder no
/// entity slug (no `/`) can name.
pub const TOPIC_PREFIX: &str = "topic/";

/// Whether `id` can be a feed id: `[a-z0-9][a-z0-9_-]*`, at most 64 characters.
pub fn is_feed_id(id: &str) -> bool {
    id.len() <= 64
        && id
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Which items a feed shows: every item (the combined feed), or one feed's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection<'a> {
    /// Every item: the combined feed.
    All,
    /// The items of one feed.
    Feed(&'a str),
}

impl<'a> Selection<'a> {
    /// The items feed `id` shows.
    pub fn of(id: &'a str) -> Self {
        if id == COMBINED_ID {
            Selection::All
        } else {
            Selection::Feed(id)
        }
    }

    /// The one feed selected, if not all.
    pub fn feed(self) -> Option<&'a str> {
        match self {
            Selection::All => None,
            Selection::Feed(id) => Some(id),
        }
    }
}
