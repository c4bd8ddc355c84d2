-- certq schema, version 8: the log of events told to the provider's systems (webhooks), written in
-- the same transaction as the change it reports. Every state change (from the transitions
-- trigger) and every certificate event of the daemon (a renewal) is one event, in one order; each
-- webhook keeps a cursor over it. The row's facts are taken as they are when the event happens.

CREATE TABLE events (
    id             INTEGER PRIMARY KEY,
    domain_id      INTEGER NOT NULL,
    kind           TEXT    NOT NULL CHECK (kind IN ('state', 'renewed')),
    from_state     TEXT,                               -- state events; NULL for the insert
    to_state       TEXT,
    at             TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    detail         TEXT,
    hostname       TEXT,
    names          TEXT,                               -- JSON array, as on the row
    certificate_id INTEGER,
    workload_id    INTEGER
);

CREATE TRIGGER transitions_told AFTER INSERT ON transitions
BEGIN
    INSERT INTO events (domain_id, kind, from_state, to_state, at, detail, hostname, names,
                        certificate_id, workload_id)
    SELECT NEW.domain_id, 'state', NEW.from_state, NEW.to_state, NEW.at, NEW.detail, d.hostname,
           d.names, d.certificate_id, d.workload_id
      FROM domains d WHERE d.id = NEW.domain_id;
END;

-- Where each webhook is: every event up to `delivered_through` was delivered or given up.
CREATE TABLE webhook_cursors (
    webhook           TEXT PRIMARY KEY,                -- the receiver's URL
    delivered_through INTEGER NOT NULL
);

-- This database's identity, part of every webhook-id so that ids stay unique if a database is
-- replaced by a new one (whose event ids start again at 1).
CREATE TABLE instance (id TEXT NOT NULL);
INSERT INTO instance (id) VALUES (lower(hex(randomblob(8))));
