-- certq schema for PostgreSQL, version 8: the whole schema as the SQLite migrations
-- ../0001_init.sql … ../0008_events.sql leave it (SQLite schema version 8), made in one step,
-- since a PostgreSQL database starts at this version. The tables, columns, defaults, CHECKs,
-- partial indexes and what the triggers do are SQLite's, so that the SQL contract holds on both
-- engines (INSERT INTO domains (hostname) VALUES (...); UPDATE domains SET state = 'queued'
-- ...). Later PostgreSQL migrations are numbered with their SQLite counterparts (0009_….sql
-- beside ../0009_….sql) and applied the same way: in one transaction, in order, those above the
-- version recorded.
--
-- PostgreSQL has no PRAGMA user_version: the version is the one row of certq_schema, made here
-- (8) and set by the migration runner after later migrations (UPDATE certq_schema SET version =
-- N). No certq_schema table: an empty database, version 0. A version above the newest migration
-- certq knows: a database written by a newer certq, refused.
--
-- Where SQLite and PostgreSQL differ:
--  * INTEGER is BIGINT (SQLite's integers are 64-bit); INTEGER PRIMARY KEY is BIGINT GENERATED
--    ALWAYS AS IDENTITY, so an INSERT without an id works as on SQLite (an explicit id is refused;
--    copying rows in takes OVERRIDING SYSTEM VALUE and a setval). retired_certificates keeps
--    Azion's id as its key, as on SQLite.
--  * hostname is citext (extension citext, in PostgreSQL's contrib, trusted: the database's
--    owner may create it; its schema must be on the search_path): equal, unique and LIKE
--    without regard to case, as COLLATE NOCASE on SQLite. Compared with a literal or an untyped
--    parameter it stays case-insensitive; compared with a text-typed expression (substr(...),
--    $1::text) it is not: cast that to citext. Case is folded by the database's LC_CTYPE: in a
--    UTF-8 locale also beyond ASCII ('BÜCHER.example' = 'bücher.example'), which NOCASE is not.
--  * Times keep SQLite's representations: text 'YYYY-MM-DDTHH:MM:SS.sssZ' in UTC
--    (certq_now_text()) and integer Unix milliseconds (certq_now_ms()), both of the statement's
--    time truncated to the millisecond, as SQLite's 'now' holds for one statement.
--  * Triggers are PL/pgSQL. What SQLite does with an UPDATE of the same row from an AFTER
--    trigger (state_since and updated_at, a re-queue's reset, next_attempt_at) is done here by
--    BEFORE triggers on the row being written; rows of other tables (transitions, events,
--    retired_certificates) are written by AFTER triggers, so an event sees the row as SQLite's
--    does (after a re-queue's reset). INSERT OR IGNORE is INSERT ... ON CONFLICT DO NOTHING.
--  * An INSERT, a re-queue, and a change of wanted or workload_id (each makes the row due at
--    once) send NOTIFY certq_queue with the row's id, delivered at commit: the leader LISTENs.
--  * Event ids must become visible in id order (a webhook's cursor passes every id up to the
--    one delivered). SQLite has one writer at a time; here a sequence hands out ids to
--    concurrent transactions that may commit in any order. So every statement that may write
--    events (an INSERT into domains or events, an UPDATE naming domains.state) first takes the
--    transaction-scoped advisory lock (1667592820, 1) ('cert', 1); such a transaction commits
--    before the next one draws an event id. As on SQLite, a transaction that wrote a state
--    holds up the others until it ends. Taken before the statement's rows, the lock cannot
--    deadlock with their row locks; it can with a row locked earlier in the transaction (by
--    another UPDATE): PostgreSQL then cancels one (40P01), to be retried. The daemon must not
--    use that key for itself. Keep the identities' CACHE at 1.
--  * Functions are bound to the search_path in force when this file is applied (SET
--    search_path FROM CURRENT), so a trigger writes to this schema's tables whatever the
--    session's search_path.
--
-- Users insert into `domains` and read every table; the daemon owns the columns below the line
-- in `domains` and the other tables.

CREATE EXTENSION IF NOT EXISTS citext;

CREATE TABLE certq_schema (version integer NOT NULL);
CREATE UNIQUE INDEX certq_schema_one_row ON certq_schema ((true));
INSERT INTO certq_schema (version) VALUES (8);

-- SQLite's strftime('%Y-%m-%dT%H:%M:%fZ', 'now') and CAST((julianday('now') - 2440587.5) *
-- 86400000 AS INTEGER): the statement's time, in text and in Unix ms.
CREATE FUNCTION certq_now_text() RETURNS text LANGUAGE sql STABLE PARALLEL SAFE
RETURN to_char(date_trunc('milliseconds', statement_timestamp()) AT TIME ZONE 'UTC',
               'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');

CREATE FUNCTION certq_now_ms() RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE
RETURN (extract(epoch FROM date_trunc('milliseconds', statement_timestamp())) * 1000)::bigint;

CREATE TABLE domains (
    id                BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hostname          CITEXT  NOT NULL CONSTRAINT domains_hostname_key UNIQUE,
    alternative_names TEXT    DEFAULT '[]',            -- JSON array of hostnames
    certificate_name  TEXT    CONSTRAINT domains_certificate_name_key UNIQUE, -- optional name at Azion; NULL: derived
    wanted            TEXT    NOT NULL DEFAULT 'present'
                              CONSTRAINT domains_wanted_check CHECK (wanted IN ('present', 'absent')),
    workload_id       BIGINT,                          -- optional: the Azion workload to serve it
    state             TEXT    NOT NULL DEFAULT 'queued' CONSTRAINT domains_state_check CHECK (state IN (
                          'queued', 'invalid', 'dns_waiting', 'dns_failed', 'throttled',
                          'requesting', 'pending', 'attaching', 'active', 'moved', 'failed',
                          'removing', 'removed')),
    detail            TEXT,
    certificate_id    BIGINT,                          -- Azion's id, once it accepted the request
    -- ---- owned by the daemon --------------------------------------------------------------
    generation        BIGINT  NOT NULL DEFAULT 0,      -- bumped on every re-queue: a new request
    request_name      TEXT,                            -- the name this request has at Azion
    attempts          BIGINT  NOT NULL DEFAULT 0,      -- POSTs that may have left, this generation
    polls             BIGINT  NOT NULL DEFAULT 0,      -- status reads while pending
    next_attempt_at   BIGINT,                          -- Unix ms; NULL: as soon as possible
    state_since       BIGINT  NOT NULL DEFAULT certq_now_ms(),
    validity          TEXT,                            -- certificate's end of validity, as Azion says
    created_at        TEXT    NOT NULL DEFAULT certq_now_text(),
    updated_at        TEXT    NOT NULL DEFAULT certq_now_text(),
    dns_checks        BIGINT  NOT NULL DEFAULT 0,      -- DNS checks that found a name not ready
    names             TEXT,                            -- JSON array of the names sent, common name first
    dns_excused_ms    BIGINT  NOT NULL DEFAULT 0,      -- resolver outages not charged to the DNS wait
    attached_workload_id    BIGINT,                    -- the workload certq put certificate_id on
    previous_certificate_id BIGINT,                    -- served before a re-queue; deleted once replaced
    renewed_at        TEXT,                            -- the certificate's last renewal, as Azion says
    valid_until       BIGINT,                          -- Unix ms: the end of `validity`
    attach_tries      BIGINT  NOT NULL DEFAULT 0       -- attaches (or detaches) tried in this state
);

CREATE INDEX domains_certificate_id ON domains (certificate_id);
CREATE INDEX domains_workload ON domains (workload_id) WHERE workload_id IS NOT NULL;

-- The daemon's work queues in due order (as in ../0007_workloads.sql): rows on their way to a
-- certificate on its workload, pending rows to poll, and served rows to watch on the slow
-- schedule. A query uses one when its WHERE implies the index's.
CREATE INDEX domains_request_queue ON domains ((coalesce(next_attempt_at, 0)), id)
WHERE ((state IN ('queued', 'dns_waiting', 'throttled', 'requesting', 'attaching')
        OR (state = 'pending' AND certificate_id IS NULL)) AND wanted = 'present')
   OR (wanted = 'absent' AND state != 'removed');

CREATE INDEX domains_poll_queue ON domains ((coalesce(next_attempt_at, 0)), id)
WHERE state = 'pending' AND certificate_id IS NOT NULL AND wanted = 'present';

CREATE INDEX domains_monitor_queue ON domains ((coalesce(next_attempt_at, 0)), id)
WHERE state IN ('active', 'moved') AND wanted = 'present';

CREATE INDEX domains_unfinished ON domains (state)
WHERE state NOT IN ('invalid', 'dns_failed', 'active', 'moved', 'failed', 'removed')
   OR (wanted = 'absent' AND state != 'removed');

-- Rows per state (certq status, metrics, the service's status line).
CREATE INDEX domains_state ON domains (state);

-- Certificates ending soon (monitor.expiry_warning), counted every few seconds for the metrics.
CREATE INDEX domains_valid_until ON domains (valid_until) WHERE state IN ('active', 'moved');

CREATE TABLE transitions (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain_id  BIGINT NOT NULL,
    from_state TEXT,                                   -- NULL for the insert
    to_state   TEXT   NOT NULL,
    at         TEXT   NOT NULL DEFAULT certq_now_text(),
    detail     TEXT
);
CREATE INDEX transitions_domain ON transitions (domain_id, id);

-- The ledger of requests sent, from which Let's Encrypt's budgets are counted: one entry per
-- request that went out for a row, one line per registered domain (eTLD+1) among its names.
CREATE TABLE le_requests (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain_id BIGINT NOT NULL,
    names_key TEXT   NOT NULL,   -- the exact set of names, sorted and comma-separated
    at        BIGINT NOT NULL    -- Unix ms
);
CREATE INDEX le_requests_names ON le_requests (names_key, at);

CREATE TABLE le_request_domains (
    request_id        BIGINT NOT NULL REFERENCES le_requests (id) ON DELETE CASCADE,
    registered_domain TEXT   NOT NULL,
    at                BIGINT NOT NULL
);
CREATE INDEX le_request_domains_domain ON le_request_domains (registered_domain, at);

-- The names each row asks for, as they are sent (A-labels), so that a name on two live rows is
-- caught whatever its spelling.
CREATE TABLE row_names (
    domain_id BIGINT NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    name      TEXT   NOT NULL
);
CREATE INDEX row_names_name ON row_names (name);
CREATE INDEX row_names_domain ON row_names (domain_id);

-- Certificates of earlier generations (a re-queue that changed the names requests a new one
-- while the old keeps serving): deleted at Azion once nothing serves them.
CREATE TABLE retired_certificates (
    certificate_id BIGINT PRIMARY KEY,
    domain_id      BIGINT NOT NULL,
    since          BIGINT NOT NULL DEFAULT certq_now_ms(),
    attempts       BIGINT NOT NULL DEFAULT 0,         -- DELETEs Azion refused so far
    next_at        BIGINT NOT NULL DEFAULT 0          -- Unix ms: when to try again
);
CREATE INDEX retired_certificates_due ON retired_certificates (next_at);

-- The log of events told to the provider's systems (webhooks), written in the same transaction
-- as the change it reports, with the row's facts as they are when the event happens.
CREATE TABLE events (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain_id      BIGINT NOT NULL,
    kind           TEXT   NOT NULL CONSTRAINT events_kind_check CHECK (kind IN ('state', 'renewed')),
    from_state     TEXT,                               -- state events; NULL for the insert
    to_state       TEXT,
    at             TEXT   NOT NULL DEFAULT certq_now_text(),
    detail         TEXT,
    hostname       TEXT,
    names          TEXT,                               -- JSON array, as on the row
    certificate_id BIGINT,
    workload_id    BIGINT
);

-- Where each webhook is: every event up to `delivered_through` was delivered or given up.
CREATE TABLE webhook_cursors (
    webhook           TEXT PRIMARY KEY,                -- the receiver's URL
    delivered_through BIGINT NOT NULL
);

-- This database's identity, part of every webhook-id: 16 lowercase hex digits, as SQLite's
-- lower(hex(randomblob(8))).
CREATE TABLE instance (id TEXT NOT NULL);
INSERT INTO instance (id) VALUES (left(encode(sha256(uuid_send(gen_random_uuid())), 'hex'), 16));

-- ---- triggers ------------------------------------------------------------------------------

-- Event ids in commit order (see the header): taken before the statement's first row.
CREATE FUNCTION certq_events_serialized() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(1667592820, 1);
    RETURN NULL;
END $$;

CREATE TRIGGER domains_insert_serialized BEFORE INSERT ON domains
FOR EACH STATEMENT EXECUTE FUNCTION certq_events_serialized();
CREATE TRIGGER domains_state_serialized BEFORE UPDATE OF state ON domains
FOR EACH STATEMENT EXECUTE FUNCTION certq_events_serialized();
CREATE TRIGGER events_serialized BEFORE INSERT ON events
FOR EACH STATEMENT EXECUTE FUNCTION certq_events_serialized();

-- Every change of domains.state is recorded, whoever makes it: the daemon, the CLI, or a
-- user's UPDATE. The insert is recorded too, with from_state NULL, and wakes the leader.
CREATE FUNCTION domains_state_inserted() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO transitions (domain_id, from_state, to_state, detail)
    VALUES (NEW.id, NULL, NEW.state, NEW.detail);
    PERFORM pg_notify('certq_queue', NEW.id::text);
    RETURN NULL;
END $$;

CREATE TRIGGER domains_state_inserted AFTER INSERT ON domains
FOR EACH ROW EXECUTE FUNCTION domains_state_inserted();

-- The time of a state change, on the row as it is written.
CREATE FUNCTION domains_state_stamped() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    NEW.state_since := certq_now_ms();
    NEW.updated_at := certq_now_text();
    RETURN NEW;
END $$;

CREATE TRIGGER domains_state_stamped BEFORE UPDATE OF state ON domains
FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state)
EXECUTE FUNCTION domains_state_stamped();

-- A detail left over from the previous state (a user re-queueing a failed row changes only the
-- state) says nothing about this transition, so only a new detail is recorded. (A re-queue has
-- already cleared an unchanged detail on NEW: recorded as NULL either way.)
CREATE FUNCTION domains_state_changed() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO transitions (domain_id, from_state, to_state, detail)
    VALUES (NEW.id, OLD.state, NEW.state,
            CASE WHEN NEW.detail IS DISTINCT FROM OLD.detail THEN NEW.detail END);
    RETURN NULL;
END $$;

CREATE TRIGGER domains_state_changed AFTER UPDATE OF state ON domains
FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state)
EXECUTE FUNCTION domains_state_changed();

-- A re-queue (by a user or the CLI) starts a new request: fresh counters, due at once, and a new
-- generation so the certificate name differs from the one a failed attempt left at Azion. The
-- certificate the row had is not forgotten: it becomes the previous one (it keeps serving, and
-- is used again when the names did not change, or is deleted once a new one serves in its
-- place). A row can hold two: the one serving (its certificate when active or moved, else the
-- previous one) is kept, the other retired. Wakes the leader.
CREATE FUNCTION domains_requeued() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    IF OLD.previous_certificate_id IS NOT NULL AND OLD.certificate_id IS NOT NULL
       AND OLD.previous_certificate_id != OLD.certificate_id THEN
        INSERT INTO retired_certificates (certificate_id, domain_id)
        VALUES (CASE WHEN OLD.state IN ('active', 'moved') THEN OLD.previous_certificate_id
                     ELSE OLD.certificate_id END, OLD.id)
        ON CONFLICT (certificate_id) DO NOTHING;
    END IF;
    NEW.generation := OLD.generation + 1;
    NEW.request_name := NULL;
    NEW.certificate_id := NULL;
    NEW.previous_certificate_id := CASE WHEN OLD.state IN ('active', 'moved')
                                        THEN coalesce(OLD.certificate_id, OLD.previous_certificate_id)
                                        ELSE coalesce(OLD.previous_certificate_id, OLD.certificate_id) END;
    NEW.detail := CASE WHEN NEW.detail IS NOT DISTINCT FROM OLD.detail THEN NULL ELSE NEW.detail END;
    NEW.attempts := 0;
    NEW.polls := 0;
    NEW.dns_checks := 0;
    NEW.attach_tries := 0;
    NEW.next_attempt_at := NULL;
    NEW.validity := NULL;
    NEW.renewed_at := NULL;
    PERFORM pg_notify('certq_queue', NEW.id::text);
    RETURN NEW;
END $$;

CREATE TRIGGER domains_requeued BEFORE UPDATE OF state ON domains
FOR EACH ROW WHEN (NEW.state = 'queued' AND OLD.state IS DISTINCT FROM 'queued')
EXECUTE FUNCTION domains_requeued();

-- The daemon lets go of the previous certificate once a new one serves in its place (or the row
-- is offboarded): it is retired, and deleted at Azion from there.
CREATE FUNCTION domains_previous_released() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO retired_certificates (certificate_id, domain_id)
    VALUES (OLD.previous_certificate_id, NEW.id)
    ON CONFLICT (certificate_id) DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER domains_previous_released AFTER UPDATE OF previous_certificate_id ON domains
FOR EACH ROW WHEN (OLD.previous_certificate_id IS NOT NULL AND NEW.previous_certificate_id IS NULL
                   AND OLD.previous_certificate_id IS DISTINCT FROM NEW.certificate_id)
EXECUTE FUNCTION domains_previous_released();

-- Work arrives by INSERT, by re-queue, or by a change of `wanted` or `workload_id`: such a
-- change makes the row due at once (offboarding starts without waiting for a backoff; a user
-- who names another workload, or none, is served at once) and wakes the leader.
CREATE FUNCTION domains_due_now() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.next_attempt_at := NULL;
    PERFORM pg_notify('certq_queue', NEW.id::text);
    RETURN NEW;
END $$;

-- Any other change a user commits to domains (an edited next_attempt_at or alternative_names, a
-- DELETE) wakes the leader too, once per statement: it then reads the queue, as certqd on SQLite
-- does when PRAGMA data_version moves. certqd ignores its own session's notifications.
CREATE FUNCTION domains_touched() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('certq_queue', '');
    RETURN NULL;
END $$;

CREATE TRIGGER domains_touched AFTER UPDATE OR DELETE ON domains
FOR EACH STATEMENT EXECUTE FUNCTION domains_touched();

CREATE TRIGGER domains_wanted_changed BEFORE UPDATE OF wanted ON domains
FOR EACH ROW WHEN (OLD.wanted IS DISTINCT FROM NEW.wanted)
EXECUTE FUNCTION domains_due_now();

CREATE TRIGGER domains_workload_changed BEFORE UPDATE OF workload_id ON domains
FOR EACH ROW WHEN (OLD.workload_id IS DISTINCT FROM NEW.workload_id)
EXECUTE FUNCTION domains_due_now();

-- Every transition is an event, with the row's facts as they are now.
CREATE FUNCTION transitions_told() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO events (domain_id, kind, from_state, to_state, at, detail, hostname, names,
                        certificate_id, workload_id)
    SELECT NEW.domain_id, 'state', NEW.from_state, NEW.to_state, NEW.at, NEW.detail, d.hostname,
           d.names, d.certificate_id, d.workload_id
      FROM domains d WHERE d.id = NEW.domain_id;
    RETURN NULL;
END $$;

CREATE TRIGGER transitions_told AFTER INSERT ON transitions
FOR EACH ROW EXECUTE FUNCTION transitions_told();
