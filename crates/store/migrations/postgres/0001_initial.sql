-- certbound store schema, PostgreSQL dialect.
-- Keep in step with ../sqlite/0001_initial.sql: same version, same tables.

-- One row: counters bumped in the same transaction as every write to the
-- client registry or the revocations, so other instances can poll for changes.
-- Updating it also serialises registry writes, which are rare.
CREATE TABLE meta (
    id SMALLINT PRIMARY KEY CHECK (id = 1),
    registry_generation BIGINT NOT NULL,
    revocation_generation BIGINT NOT NULL
);
INSERT INTO meta (id, registry_generation, revocation_generation) VALUES (1, 0, 0);

-- OAuth clients. `document` is the client's JSON as the server defines it,
-- kept verbatim (json, not jsonb); `name_key` is the Unicode lower-case name,
-- for case-insensitive lookups. Names sort bytewise (COLLATE "C"), as in SQLite.
CREATE TABLE clients (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    document JSON NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX clients_name_key ON clients (name_key);
CREATE INDEX clients_name_id ON clients (name COLLATE "C", id COLLATE "C");

-- Revoked tokens (RFC 7009), kept until they would have expired anyway.
CREATE TABLE revocations (
    jti TEXT NOT NULL PRIMARY KEY,
    client_id TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX revocations_expires_at ON revocations (expires_at);

-- The audit trail: one row per token request, introspection, revocation,
-- admin change or rejected handshake.
CREATE TABLE audit_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
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
