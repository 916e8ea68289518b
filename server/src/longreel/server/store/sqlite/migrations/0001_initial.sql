-- Operations, the videos they act on and the jobs that run them.
-- Times are microseconds since the Unix epoch.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

CREATE TABLE videos (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT    NOT NULL UNIQUE,
    -- Listing order, given when the video comes into existence (its creation
    -- finishes), so a page token never skips a video that appears later.
    list_seq    INTEGER UNIQUE,
    title       TEXT    NOT NULL,
    plot        TEXT    NOT NULL,
    -- creating: reserved by a pending create, invisible to Get/List;
    -- active: exists; deleting: exists, a delete operation is under way.
    state       TEXT    NOT NULL CHECK (state IN ('creating', 'active', 'deleting')),
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL
);

-- meta 'video_list_seq' counts up the list_seq values handed out.

CREATE TABLE operations (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT    NOT NULL UNIQUE,
    verb             TEXT    NOT NULL CHECK (verb IN ('create', 'delete')),
    target           TEXT    NOT NULL,  -- resource name, as shown in the metadata
    video_id         TEXT    NOT NULL,
    done             INTEGER NOT NULL DEFAULT 0,
    progress_percent INTEGER NOT NULL DEFAULT 0,
    status_message   TEXT    NOT NULL DEFAULT '',
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    create_time      INTEGER NOT NULL,
    update_time      INTEGER NOT NULL,
    end_time         INTEGER,
    response         BLOB,  -- serialized google.protobuf.Any
    error            BLOB,  -- serialized google.rpc.Status
    error_code       INTEGER NOT NULL DEFAULT 0,
    request_id       TEXT,
    request_hash     BLOB
);

CREATE UNIQUE INDEX operations_by_request ON operations (verb, request_id)
    WHERE request_id IS NOT NULL;
CREATE INDEX operations_by_done ON operations (done, seq);

CREATE TABLE jobs (
    operation_seq INTEGER PRIMARY KEY REFERENCES operations (seq),
    lease_owner   TEXT,
    lease_expires INTEGER NOT NULL DEFAULT 0,  -- free once this is in the past
    attempts      INTEGER NOT NULL DEFAULT 0,
    not_before    INTEGER NOT NULL DEFAULT 0   -- backoff after a transient failure
);

CREATE INDEX jobs_by_readiness ON jobs (lease_expires, not_before, operation_seq);

-- The backlog (jobs not yet finished), counted as rows come and go, so that
-- admission control reads one row instead of counting a long table.
INSERT INTO meta (key, value) VALUES ('backlog', 0);

CREATE TRIGGER jobs_counted_in AFTER INSERT ON jobs BEGIN
    UPDATE meta SET value = value + 1 WHERE key = 'backlog';
END;

CREATE TRIGGER jobs_counted_out AFTER DELETE ON jobs BEGIN
    UPDATE meta SET value = value - 1 WHERE key = 'backlog';
END;

CREATE INDEX operations_by_end ON operations (end_time) WHERE done = 1;
