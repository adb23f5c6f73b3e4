-- The client assertions (RFC 7523 private_key_jwt) already used, by client and
-- jti, until they expire: one seen again is a replay. Shared through the
-- store, so a replay to another instance is refused too.
-- Keep in step with ../postgres/0003_client_assertions.sql.
CREATE TABLE client_assertions (
    client_id TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX client_assertions_expires_at ON client_assertions (expires_at);
