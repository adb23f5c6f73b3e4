-- certbound store schema, SQLite dialect.
-- Keep in step with ../postgres/0001_initial.sql: same version, same tables.
-- Timestamps are INTEGER microseconds since the Unix epoch, UTC.

-- One row: counters bumped in the same transaction as every write to the
-- client registry or the revocations, so other instances can poll for changes.
CREATE TABLE meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    registry_generation INTEGER NOT NULL,
    revocation_generation INTEGER NOT NULL
);
INSERT INTO meta (id, registry_generation, revocation_generation) VALUES (1, 0, 0);

-- OAuth clients. `document` is the client's JSON as the server defines it;
-- `name_key` is the Unicode lower-case name, for case-insensitive lookups.
CREATE TABLE clients (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    document TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX clients_name_key ON clients (name_key);
CREATE INDEX clients_name_id ON clients (name, id);

-- Revoked tokens (RFC 7009), kept until they would have expired anyway.
CREATE TABLE revocations (
    jti TEXT NOT NULL PRIMARY KEY,
    client_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER NOT NULL
);
CREATE INDEX revocations_expires_at ON revocations (expires_at);

-- The audit trail: one row per token request, introspection, revocation,
-- admin change or rejected handshake.
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    client_id TEXT,
    method TEXT,
    result TEXT NOT NULL CHECK (result IN ('success', 'fail')),
    reason TEXT,
    thumbprint TEXT,
    subject TEXT,
    peer TEXT,
    listener TEXT,
    detail TEXT
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_client_id_at ON audit_events (client_id, at);
