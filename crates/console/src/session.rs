//! Console sessions: a random 256-bit id in an HttpOnly, Secure,
//! SameSite=Strict cookie, kept server-side in memory with an idle and an
//! absolute expiry; each session has its own CSRF token. The map is keyed by
//! a SHA-256 digest of the id, so a memory dump does not yield usable cookies.
//! The admin token is checked at sign-in and never stored here.
//!
//! A session opened by an admin client certificate stays bound to it: it is
//! honoured only on connections that present the same certificate.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;

use super::BASE;

/// Name of the session cookie (`__Secure-`: browsers accept it only with `Secure`).
pub(super) const SESSION_COOKIE: &str = "__Secure-certbound-console";
/// Name of the cookie that protects the sign-in form (double-submit token).
pub(super) const SIGNIN_COOKIE: &str = "__Secure-certbound-signin";
/// A session unused this long ends.
pub(super) const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// A session ends this long after sign-in, used or not.
pub(super) const MAX_SESSION_AGE: Duration = Duration::from_secs(8 * 60 * 60);
/// Most sessions kept at once; the least recently used goes first.
pub(super) const MAX_SESSIONS: usize = 1024;
/// How long the sign-in form stays valid, in seconds.
pub(super) const SIGNIN_FORM_SECONDS: u32 = 600;

/// How a session was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Auth {
    /// With the admin token on the sign-in form.
    Token,
    /// Automatically, by an admin client certificate in the TLS handshake.
    Cert { thumbprint: String },
}

#[derive(Debug, Clone)]
struct Session {
    csrf: String,
    auth: Auth,
    created: Instant,
    last_seen: Instant,
}

/// What a page needs to know about the signed-in admin.
#[derive(Debug, Clone)]
pub(super) struct SessionInfo {
    /// The CSRF token every form of this session carries.
    pub csrf: String,
    /// "Signed in with the admin token", for the header.
    pub who: String,
}

/// The sessions of this instance.
#[derive(Debug, Default)]
pub(super) struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

/// 256 random bits, base64url; `None` if the system's random source fails.
pub(super) fn random_token() -> Option<String> {
    let mut bytes = [0u8; 32];
    rustls::crypto::aws_lc_rs::default_provider()
        .secure_random
        .fill(&mut bytes)
        .ok()?;
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The map key of a session id: its SHA-256 digest.
fn key(id: &str) -> String {
    certbound_pki::x5t_s256(id.as_bytes())
}

fn info(s: &Session) -> SessionInfo {
    let who = match &s.auth {
        Auth::Token => "Signed in with the admin token".to_string(),
        Auth::Cert { .. } => "Signed in with an admin certificate".to_string(),
    };
    SessionInfo {
        csrf: s.csrf.clone(),
        who,
    }
}

impl Sessions {
    /// Open a session; returns its id (for the cookie) and what pages need.
    pub(super) fn create(&self, auth: Auth) -> Option<(String, SessionInfo)> {
        let id = random_token()?;
        let now = Instant::now();
        let session = Session {
            csrf: random_token()?,
            auth,
            created: now,
            last_seen: now,
        };
        let info = info(&session);
        let mut map = self.map.lock().ok()?;
        map.retain(|_, s| alive(s, now));
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, s)| s.last_seen)
                .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(key(&id), session);
        Some((id, info))
    }

    /// The live session `id`, if the connection may use it; marks it used.
    pub(super) fn get(&self, id: &str, tls_thumbprint: Option<&str>) -> Option<SessionInfo> {
        let now = Instant::now();
        let mut map = self.map.lock().ok()?;
        let k = key(id);
        let session = map.get_mut(&k)?;
        if !alive(session, now) {
            map.remove(&k);
            return None;
        }
        if let Auth::Cert { thumbprint } = &session.auth {
            if tls_thumbprint != Some(thumbprint.as_str()) {
                return None;
            }
        }
        session.last_seen = now;
        Some(info(session))
    }

    /// End session `id`.
    pub(super) fn remove(&self, id: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(&key(id));
        }
    }
}

fn alive(s: &Session, now: Instant) -> bool {
    now.duration_since(s.last_seen) < IDLE_TIMEOUT
        && now.duration_since(s.created) < MAX_SESSION_AGE
}

/// The value of cookie `name` in the request, if sent once or more (first wins).
pub(super) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim().to_string())
}

/// `Set-Cookie` for the session: no `Max-Age` (the server expires it), the console path only.
pub(super) fn session_cookie(id: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={id}; Path={BASE}; Secure; HttpOnly; SameSite=Strict"
    ))
    .ok()
}

/// `Set-Cookie` for the sign-in form's token.
pub(super) fn signin_cookie(token: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{SIGNIN_COOKIE}={token}; Path={BASE}/signin; Max-Age={SIGNIN_FORM_SECONDS}; Secure; HttpOnly; SameSite=Strict"
    ))
    .ok()
}

/// `Set-Cookie` that deletes cookie `name` on `path`.
pub(super) fn clear_cookie(name: &str, path: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{name}=; Path={path}; Max-Age=0; Secure; HttpOnly; SameSite=Strict"
    ))
    .ok()
}

/// Constant-time comparison of two tokens.
pub(super) fn tokens_match(given: &str, expected: &str) -> bool {
    certbound_server::admin::constant_time_eq(given.as_bytes(), expected.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_256_bits() {
        let (a, b) = (
            random_token().unwrap_or_default(),
            random_token().unwrap_or_default(),
        );
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }

    #[test]
    fn certificate_sessions_need_their_certificate() {
        let sessions = Sessions::default();
        let Some((id, _)) = sessions.create(Auth::Cert {
            thumbprint: "T".into(),
        }) else {
            panic!("no session");
        };
        assert!(sessions.get(&id, None).is_none());
        assert!(sessions.get(&id, Some("other")).is_none());
        assert!(sessions.get(&id, Some("T")).is_some());
        sessions.remove(&id);
        assert!(sessions.get(&id, Some("T")).is_none());
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; __Secure-certbound-console=xyz"),
        );
        headers.append(header::COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("xyz"));
        assert_eq!(cookie(&headers, "b").as_deref(), Some("2"));
        assert_eq!(cookie(&headers, "c"), None);
    }
}
