-- certq schema, version 3: the ledger of requests sent, from which Let's Encrypt's budgets are
-- counted (so a restart forgets nothing). One entry per request that went out for a row, and
-- one line per registered domain (eTLD+1) among its names.

CREATE TABLE le_requests (
    id        INTEGER PRIMARY KEY,
    domain_id INTEGER NOT NULL,
    names_key TEXT    NOT NULL,   -- the exact set of names, sorted and comma-separated
    at        INTEGER NOT NULL    -- Unix ms
);
CREATE INDEX le_requests_names ON le_requests (names_key, at);

CREATE TABLE le_request_domains (
    request_id        INTEGER NOT NULL REFERENCES le_requests (id) ON DELETE CASCADE,
    registered_domain TEXT    NOT NULL,
    at                INTEGER NOT NULL
);
CREATE INDEX le_request_domains_domain ON le_request_domains (registered_domain, at);
