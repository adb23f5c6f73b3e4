//! The registry, revocations and audit trail.
