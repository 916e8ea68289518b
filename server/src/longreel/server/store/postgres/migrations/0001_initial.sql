-- Operations, the videos they act on and the jobs that run them (PostgreSQL).
-- Times are microseconds since the Unix epoch. Mirrors sqlite_0001_initial.sql.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

-- Keyset numbers come from counter rows, not sequences: a sequence hands out
-- numbers in statement order, so a page token could pass a number whose
-- transaction commits later, and skip its row. The row lock on a counter is
-- held to commit, so numbers become visible in order.
CREATE TABLE counters (
    name  TEXT   PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('operations', 0), ('videos', 0);

CREATE TABLE videos (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          TEXT   NOT NULL UNIQUE,
    -- Listing order, given when the video comes into existence.
    list_seq    BIGINT UNIQUE,
    title       TEXT   NOT NULL,
    plot        TEXT   NOT NULL,
    state       TEXT   NOT NULL CHECK (state IN ('creating', 'active', 'deleting')),
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);

CREATE TABLE operations (
    seq              BIGINT  PRIMARY KEY,  -- from counters 'operations' 
    id               TEXT    NOT NULL UNIQUE,
    verb             TEXT    NOT NULL CHECK (verb IN ('create', 'delete')),
    target           TEXT    NOT NULL,
    video_id         TEXT    NOT NULL,
    done             BOOLEAN NOT NULL DEFAULT FALSE,
    progress_percent INTEGER NOT NULL DEFAULT 0,
    status_message   TEXT    NOT NULL DEFAULT '',
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    create_time      BIGINT  NOT NULL,
    update_time      BIGINT  NOT NULL,
    end_time         BIGINT,
    response         BYTEA,
    error            BYTEA,
    error_code       INTEGER NOT NULL DEFAULT 0,
    request_id       TEXT,
    request_hash     BYTEA
);

CREATE UNIQUE INDEX operations_by_request ON operations (verb, request_id)
    WHERE request_id IS NOT NULL;
CREATE INDEX operations_by_done ON operations (done, seq);
CREATE INDEX operations_by_end ON operations (end_time) WHERE done;

CREATE TABLE jobs (
    operation_seq BIGINT  PRIMARY KEY REFERENCES operations (seq) ON DELETE CASCADE,
    lease_owner   TEXT,
    lease_expires BIGINT  NOT NULL DEFAULT 0,
    attempts      INTEGER NOT NULL DEFAULT 0,
    not_before    BIGINT  NOT NULL DEFAULT 0
);

CREATE INDEX jobs_by_readiness ON jobs (lease_expires, not_before, operation_seq);
