-- Per-source polling state, kept across restarts: HTTP validators for conditional GET, and
-- the outcome of the last runs.
CREATE TABLE source_state (
    source               TEXT PRIMARY KEY,
    etag                 TEXT,
    last_modified        TEXT,
    last_success         TEXT,
    last_error           TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0
);
