//! A PostgreSQL database for tests: started and created on demand.
