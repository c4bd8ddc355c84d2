-- certq schema, version 9 (as migrations/0009_transitions_at.sql), and one index SQLite has
-- without asking: rows of one state in id order, for the web API's pages of one state (SQLite's
-- domains_state carries the rowid; PostgreSQL's would sort every row in the state).
CREATE INDEX transitions_at ON transitions (at);
CREATE INDEX domains_state_id ON domains (state, id);
