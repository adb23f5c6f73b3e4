-- The token signing keys this store's servers have signed with, by kid
-- (RFC 7638 thumbprint). A server that finds its key file missing refuses to
-- make a new key when the store names one: tokens issued with it would stop
-- verifying, and other instances would not publish the new key.
-- Keep in step with ../sqlite/0002_signing_keys.sql.
CREATE TABLE signing_keys (
    kid TEXT NOT NULL PRIMARY KEY,
    first_used_at TIMESTAMPTZ NOT NULL
);
