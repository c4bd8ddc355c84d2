-- certq schema, version 5: the daemon's two work queues as partial indexes in due order, so
-- that finding the next due rows reads only those rows, however large the table grows
-- (a million rows: from ~390 ms per scan to well under a millisecond; tests/bench/store_bench).
-- The WHERE clauses are repeated word for word in lib/store/domain_store.cpp: SQLite uses a
-- partial index only for a query whose WHERE contains the index's.

DROP INDEX domains_due;

CREATE INDEX domains_request_queue ON domains (coalesce(next_attempt_at, 0), id)
WHERE ((state IN ('queued', 'dns_waiting', 'throttled', 'requesting')
        OR (state = 'pending' AND certificate_id IS NULL)) AND wanted = 'present')
   OR (wanted = 'absent' AND state != 'removed');

CREATE INDEX domains_poll_queue ON domains (coalesce(next_attempt_at, 0), id)
WHERE state = 'pending' AND certificate_id IS NOT NULL AND wanted = 'present';

CREATE INDEX domains_unfinished ON domains (state)
WHERE state NOT IN ('invalid', 'dns_failed', 'active', 'failed', 'removed')
   OR (wanted = 'absent' AND state != 'removed');

-- Rows per state (certq status, metrics, the service's status line) from the index alone.
CREATE INDEX domains_state ON domains (state);
