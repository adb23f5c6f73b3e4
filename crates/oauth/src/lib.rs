//! OAuth 2.0 for mutual-TLS clients.
