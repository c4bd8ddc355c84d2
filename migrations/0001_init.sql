-- certq schema, version 1. Users insert into `domains` and read both tables; the daemon owns
-- the columns below the line in `domains`. Applied by certqd (or `certq migrate`) in one
-- transaction; the version is kept in PRAGMA user_version.

CREATE TABLE domains (
    id                INTEGER PRIMARY KEY,
    hostname          TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    alternative_names TEXT    DEFAULT '[]',            -- JSON array of hostnames
    certificate_name  TEXT    UNIQUE,                  -- optional name at Azion; NULL: derived
    wanted            TEXT    NOT NULL DEFAULT 'present' CHECK (wanted IN ('present', 'absent')),
    state             TEXT    NOT NULL DEFAULT 'queued' CHECK (state IN (
                          'queued', 'invalid', 'dns_waiting', 'dns_failed', 'throttled',
                          'requesting', 'pending', 'active', 'failed', 'removing', 'removed')),
    detail            TEXT,
    certificate_id    INTEGER,                         -- Azion's id, once it accepted the request
    -- ---- owned by the daemon --------------------------------------------------------------
    generation        INTEGER NOT NULL DEFAULT 0,      -- bumped on every re-queue: a new request
    request_name      TEXT,                            -- the name this request has at Azion
    attempts          INTEGER NOT NULL DEFAULT 0,      -- POSTs that may have left, this generation
    polls             INTEGER NOT NULL DEFAULT 0,      -- status reads while pending
    next_attempt_at   INTEGER,                         -- Unix ms; NULL: as soon as possible
    state_since       INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    validity          TEXT,                            -- certificate's end of validity, as Azion says
    created_at        TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at        TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- The daemon's work queue: rows that are not finished, by when they are due.
CREATE INDEX domains_due ON domains (state, next_attempt_at);
CREATE INDEX domains_certificate_id ON domains (certificate_id);

CREATE TABLE transitions (
    id         INTEGER PRIMARY KEY,
    domain_id  INTEGER NOT NULL,
    from_state TEXT,                                   -- NULL for the insert
    to_state   TEXT    NOT NULL,
    at         TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    detail     TEXT
);
CREATE INDEX transitions_domain ON transitions (domain_id, id);

-- Every change of domains.state is recorded, whoever makes it: the daemon, the CLI, or a
-- user's UPDATE. The insert is recorded too, with from_state NULL.
CREATE TRIGGER domains_state_inserted AFTER INSERT ON domains
BEGIN
    INSERT INTO transitions (domain_id, from_state, to_state, detail)
    VALUES (NEW.id, NULL, NEW.state, NEW.detail);
END;

CREATE TRIGGER domains_state_changed AFTER UPDATE OF state ON domains
WHEN OLD.state IS NOT NEW.state
BEGIN
    -- A detail left over from the previous state (a user re-queueing a failed row changes only
    -- the state) says nothing about this transition, so only a new detail is recorded.
    INSERT INTO transitions (domain_id, from_state, to_state, detail)
    VALUES (NEW.id, OLD.state, NEW.state,
            CASE WHEN NEW.detail IS NOT OLD.detail THEN NEW.detail END);
    UPDATE domains
       SET state_since = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER),
           updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
     WHERE id = NEW.id;
END;

-- A re-queue (by a user or the CLI) starts a new request: fresh counters, due at once, and a new
-- generation so the certificate name differs from the one a failed attempt left at Azion.
CREATE TRIGGER domains_requeued AFTER UPDATE OF state ON domains
WHEN NEW.state = 'queued' AND OLD.state IS NOT 'queued'
BEGIN
    UPDATE domains
       SET generation = OLD.generation + 1, request_name = NULL, certificate_id = NULL,
           detail = CASE WHEN NEW.detail IS OLD.detail THEN NULL ELSE NEW.detail END,
           attempts = 0, polls = 0, next_attempt_at = NULL, validity = NULL
     WHERE id = NEW.id;
END;

-- Work arrives by INSERT, by re-queue, or by a change of `wanted`; a changed `wanted` makes the
-- row due at once so offboarding starts without waiting for a backoff.
CREATE TRIGGER domains_wanted_changed AFTER UPDATE OF wanted ON domains
WHEN OLD.wanted IS NOT NEW.wanted
BEGIN
    UPDATE domains SET next_attempt_at = NULL WHERE id = NEW.id;
END;
