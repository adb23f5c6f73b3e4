//! The pieces the benchmark programs share: a test PKI and the servers under
//! test started as child processes ([`setup`]), an in-process upstream
//! ([`upstream`]), one load generator for every server ([`load`]) and the
//! kernel's accounting of what each process costs ([`procfs`]), and the
//! runtime and binaries every program starts from ([`program`]).
//!
//! `bench-token` (issue 4) drives the token endpoint, the client
//! authenticated by its certificate and, with `--private-key-jwt`, also by a
//! signed client assertion ([`assertion`]); `bench-gateway` (issue 7) drives a
//! `[[route]]` of the gateway; `bench-registry` measures a large registry
//! (start-up, memory, first and later tokens of many clients, the cost and
//! the spread of changes), its clients made by [`fleet`], its changes by [`changes`], on
//! connections of [`conn`]. [`signing`] measures what signing alone costs
//! on this machine. Each prints
//! figures; none is a timed test.

#![forbid(unsafe_code)]

pub mod assertion;
pub mod changes;
pub mod conn;
pub mod fleet;
pub mod load;
pub mod procfs;
pub mod program;
pub mod setup;
pub mod signing;
pub mod upstream;
