-- certq schema, version 7: the workload that serves a row's certificate, and the certificate's
-- life after issuance. New user column `workload_id`; new states `attaching` (the certificate is
-- being put on the row's workload) and `moved` (an active row whose names no longer point to
-- Azion). SQLite cannot change a CHECK constraint in place, so `domains` is rebuilt: copied
-- into a new table, the old one dropped, the new one renamed, and its indexes and triggers made
-- again. row_names refers to domains with ON DELETE CASCADE, and dropping a table deletes its
-- rows first, so row_names is kept aside meanwhile.

CREATE TEMP TABLE row_names_kept AS SELECT domain_id, name FROM row_names;

CREATE TABLE domains_v7 (
    id                INTEGER PRIMARY KEY,
    hostname          TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    alternative_names TEXT    DEFAULT '[]',            -- JSON array of hostnames
    certificate_name  TEXT    UNIQUE,                  -- optional name at Azion; NULL: derived
    wanted            TEXT    NOT NULL DEFAULT 'present' CHECK (wanted IN ('present', 'absent')),
    workload_id       INTEGER,                         -- optional: the Azion workload to serve it
    state             TEXT    NOT NULL DEFAULT 'queued' CHECK (state IN (
                          'queued', 'invalid', 'dns_waiting', 'dns_failed', 'throttled',
                          'requesting', 'pending', 'attaching', 'active', 'moved', 'failed',
                          'removing', 'removed')),
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
    updated_at        TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    dns_checks        INTEGER NOT NULL DEFAULT 0,      -- DNS checks that found a name not ready
    names             TEXT,                            -- JSON array of the names sent, common name first
    dns_excused_ms    INTEGER NOT NULL DEFAULT 0,      -- resolver outages not charged to the DNS wait
    attached_workload_id    INTEGER,                   -- the workload certq put certificate_id on
    previous_certificate_id INTEGER,                   -- served before a re-queue; deleted once replaced
    renewed_at        TEXT,                            -- the certificate's last renewal, as Azion says
    valid_until       INTEGER,                         -- Unix ms: the end of `validity`
    attach_tries      INTEGER NOT NULL DEFAULT 0       -- attaches (or detaches) tried in this state
);

INSERT INTO domains_v7 (id, hostname, alternative_names, certificate_name, wanted, state, detail,
                        certificate_id, generation, request_name, attempts, polls, next_attempt_at,
                        state_since, validity, created_at, updated_at, dns_checks, names, dns_excused_ms)
SELECT id, hostname, alternative_names, certificate_name, wanted, state, detail,
       certificate_id, generation, request_name, attempts, polls, next_attempt_at,
       state_since, validity, created_at, updated_at, dns_checks, names, dns_excused_ms
  FROM domains;

DROP TABLE domains;
ALTER TABLE domains_v7 RENAME TO domains;

DELETE FROM row_names;
INSERT INTO row_names (domain_id, name) SELECT domain_id, name FROM row_names_kept;
DROP TABLE row_names_kept;

-- Certificates of earlier generations (a re-queue that changed the names requests a new one
-- while the old keeps serving): deleted at Azion once nothing serves them. No certificate certq
-- created is ever without a row that knows it.
CREATE TABLE retired_certificates (
    certificate_id INTEGER PRIMARY KEY,
    domain_id      INTEGER NOT NULL,
    since          INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    attempts       INTEGER NOT NULL DEFAULT 0,        -- DELETEs Azion refused so far
    next_at        INTEGER NOT NULL DEFAULT 0         -- Unix ms: when to try again
);
CREATE INDEX retired_certificates_due ON retired_certificates (next_at);

CREATE INDEX domains_certificate_id ON domains (certificate_id);
CREATE INDEX domains_workload ON domains (workload_id) WHERE workload_id IS NOT NULL;

-- The daemon's work queues in due order (see 0005; repeated word for word in
-- lib/store/domain_store.cpp): rows on their way to a certificate on its workload, pending rows
-- to poll, and served rows to watch on the slow schedule.
CREATE INDEX domains_request_queue ON domains (coalesce(next_attempt_at, 0), id)
WHERE ((state IN ('queued', 'dns_waiting', 'throttled', 'requesting', 'attaching')
        OR (state = 'pending' AND certificate_id IS NULL)) AND wanted = 'present')
   OR (wanted = 'absent' AND state != 'removed');

CREATE INDEX domains_poll_queue ON domains (coalesce(next_attempt_at, 0), id)
WHERE state = 'pending' AND certificate_id IS NOT NULL AND wanted = 'present';

CREATE INDEX domains_monitor_queue ON domains (coalesce(next_attempt_at, 0), id)
WHERE state IN ('active', 'moved') AND wanted = 'present';

CREATE INDEX domains_unfinished ON domains (state)
WHERE state NOT IN ('invalid', 'dns_failed', 'active', 'moved', 'failed', 'removed')
   OR (wanted = 'absent' AND state != 'removed');

CREATE INDEX domains_state ON domains (state);

-- Certificates ending soon (monitor.expiry_warning), counted every few seconds for the metrics.
CREATE INDEX domains_valid_until ON domains (valid_until) WHERE state IN ('active', 'moved');

CREATE TRIGGER domains_state_inserted AFTER INSERT ON domains
BEGIN
    INSERT INTO transitions (domain_id, from_state, to_state, detail)
    VALUES (NEW.id, NULL, NEW.state, NEW.detail);
END;

CREATE TRIGGER domains_state_changed AFTER UPDATE OF state ON domains
WHEN OLD.state IS NOT NEW.state
BEGIN
    INSERT INTO transitions (domain_id, from_state, to_state, detail)
    VALUES (NEW.id, OLD.state, NEW.state,
            CASE WHEN NEW.detail IS NOT OLD.detail THEN NEW.detail END);
    UPDATE domains
       SET state_since = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER),
           updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
     WHERE id = NEW.id;
END;

-- A re-queue starts a new generation. The certificate the row had is not forgotten: it becomes
-- the previous one (it keeps serving, and is used again when the names did not change, or is
-- deleted once a new one serves in its place). A row can hold two: the one serving (its
-- certificate when active or moved, else the previous one) is kept, the other retired.
CREATE TRIGGER domains_requeued AFTER UPDATE OF state ON domains
WHEN NEW.state = 'queued' AND OLD.state IS NOT 'queued'
BEGIN
    INSERT OR IGNORE INTO retired_certificates (certificate_id, domain_id)
    SELECT CASE WHEN OLD.state IN ('active', 'moved') THEN OLD.previous_certificate_id
                ELSE OLD.certificate_id END, OLD.id
     WHERE OLD.previous_certificate_id IS NOT NULL AND OLD.certificate_id IS NOT NULL
       AND OLD.previous_certificate_id != OLD.certificate_id;
    UPDATE domains
       SET generation = OLD.generation + 1, request_name = NULL, certificate_id = NULL,
           previous_certificate_id = CASE WHEN OLD.state IN ('active', 'moved')
                                          THEN coalesce(OLD.certificate_id, OLD.previous_certificate_id)
                                          ELSE coalesce(OLD.previous_certificate_id, OLD.certificate_id) END,
           detail = CASE WHEN NEW.detail IS OLD.detail THEN NULL ELSE NEW.detail END,
           attempts = 0, polls = 0, dns_checks = 0, attach_tries = 0, next_attempt_at = NULL,
           validity = NULL, renewed_at = NULL
     WHERE id = NEW.id;
END;

-- The daemon lets go of the previous certificate once a new one serves in its place (or the row
-- is offboarded): it is retired, and deleted at Azion from there.
CREATE TRIGGER domains_previous_released AFTER UPDATE OF previous_certificate_id ON domains
WHEN OLD.previous_certificate_id IS NOT NULL AND NEW.previous_certificate_id IS NULL
     AND OLD.previous_certificate_id IS NOT NEW.certificate_id
BEGIN
    INSERT OR IGNORE INTO retired_certificates (certificate_id, domain_id)
    VALUES (OLD.previous_certificate_id, NEW.id);
END;

CREATE TRIGGER domains_wanted_changed AFTER UPDATE OF wanted ON domains
WHEN OLD.wanted IS NOT NEW.wanted
BEGIN
    UPDATE domains SET next_attempt_at = NULL WHERE id = NEW.id;
END;

-- A user who names another workload (or none) makes the row due at once.
CREATE TRIGGER domains_workload_changed AFTER UPDATE OF workload_id ON domains
WHEN OLD.workload_id IS NOT NEW.workload_id
BEGIN
    UPDATE domains SET next_attempt_at = NULL WHERE id = NEW.id;
END;
