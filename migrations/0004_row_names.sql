-- certq schema, version 4: the names each row asks for, as they are sent (A-labels), so that a
-- name on two live rows is caught whatever its spelling ("Shop.example.com." and
-- "shop.example.com", "bücher.example" and "xn--bcher-kva.example", or an alternative name).

CREATE TABLE row_names (
    domain_id INTEGER NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    name      TEXT    NOT NULL
);
CREATE INDEX row_names_name ON row_names (name);
CREATE INDEX row_names_domain ON row_names (domain_id);

ALTER TABLE domains ADD COLUMN names TEXT; -- JSON array of the names sent, common name first
