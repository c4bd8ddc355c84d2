-- certq schema, version 9: transitions by time, for what finished when (the web page's chart,
-- `certq status`'s throughput) without reading every transition ever recorded.
CREATE INDEX transitions_at ON transitions (at);
