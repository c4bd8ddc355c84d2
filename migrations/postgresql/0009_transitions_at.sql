-- certq schema, version 9 (as migrations/0009_transitions_at.sql).
CREATE INDEX transitions_at ON transitions (at);
