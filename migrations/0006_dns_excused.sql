-- certq schema, version 6: time a row waiting for DNS is not charged for. When certq's own
-- resolvers answer nothing at all, no row is judged; once they answer again, the outage is added
-- here for every row in dns_waiting, and dns.recheck.give_up_after counts from state_since less
-- this. Reset as a row enters dns_waiting.

ALTER TABLE domains ADD COLUMN dns_excused_ms INTEGER NOT NULL DEFAULT 0;
