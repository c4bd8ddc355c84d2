-- certq schema, version 2: the DNS pre-check counts its checks per row, for its backoff.

ALTER TABLE domains ADD COLUMN dns_checks INTEGER NOT NULL DEFAULT 0; -- DNS checks that found a name not pointing

DROP TRIGGER domains_requeued;
CREATE TRIGGER domains_requeued AFTER UPDATE OF state ON domains
WHEN NEW.state = 'queued' AND OLD.state IS NOT 'queued'
BEGIN
    UPDATE domains
       SET generation = OLD.generation + 1, request_name = NULL, certificate_id = NULL,
           detail = CASE WHEN NEW.detail IS OLD.detail THEN NULL ELSE NEW.detail END,
           attempts = 0, polls = 0, dns_checks = 0, next_attempt_at = NULL, validity = NULL
     WHERE id = NEW.id;
END;
