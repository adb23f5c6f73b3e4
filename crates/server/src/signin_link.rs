//! One-time sign-in links to the console. `serve --dev` prints one in its
//! banner so that the first look at the console needs no token typed: a
//! random 256-bit code, valid for [`LINK_VALIDITY`] and for one use, that the
//! console exchanges for a session cookie at [`LINK_PATH`].
//!
//! Only a digest of each code is kept, so a memory dump yields no usable
//! link. The codes live with the admin settings ([`crate::config::AdminConfig`])
//! because a link grants what the admin token grants.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;

/// How long a link works after it was printed.
pub const LINK_VALIDITY: Duration = Duration::from_secs(10 * 60);
/// Where a link points, under the issuer URL; the code is the `code` query parameter.
pub const LINK_PATH: &str = "/console/signin/link";
/// Most unused links kept at once; the oldest goes first.
pub const MAX_LINKS: usize = 16;

/// The unused links of this instance.
#[derive(Debug, Default)]
pub struct SignInLinks {
    /// (digest, issue time), oldest first.
    codes: Mutex<Vec<(String, Instant)>>,
}

/// The map key of a code: its SHA-256 digest.
fn key(code: &str) -> String {
    certbound_pki::x5t_s256(code.as_bytes())
}

impl SignInLinks {
    /// Make a new code; `None` if the system's random source fails.
    pub fn issue(&self) -> Option<String> {
        let mut bytes = [0u8; 32];
        rustls::crypto::aws_lc_rs::default_provider()
            .secure_random
            .fill(&mut bytes)
            .ok()?;
        let code = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let now = Instant::now();
        let mut codes = self.codes.lock().ok()?;
        codes.retain(|(_, issued)| now.duration_since(*issued) < LINK_VALIDITY);
        if codes.len() >= MAX_LINKS {
            let excess = codes.len() + 1 - MAX_LINKS;
            codes.drain(..excess);
        }
        codes.push((key(&code), now));
        Some(code)
    }

    /// Use `code`: true once, within [`LINK_VALIDITY`] of its issue.
    pub fn redeem(&self, code: &str) -> bool {
        let Ok(mut codes) = self.codes.lock() else {
            return false;
        };
        let k = key(code);
        let Some(i) = codes.iter().position(|(c, _)| *c == k) else {
            return false;
        };
        codes.remove(i).1.elapsed() < LINK_VALIDITY
    }

    /// The link for `code` under `issuer`.
    pub fn url(issuer: &str, code: &str) -> String {
        format!("{}{LINK_PATH}?code={code}", issuer.trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_works_once() {
        let links = SignInLinks::default();
        let code = links.issue().unwrap_or_default();
        assert_eq!(code.len(), 43);
        assert!(!links.redeem("not-a-code"));
        assert!(links.redeem(&code));
        assert!(!links.redeem(&code), "a second use must fail");
    }

    #[test]
    fn expired_codes_fail() {
        let links = SignInLinks::default();
        let code = links.issue().unwrap_or_default();
        if let Ok(mut codes) = links.codes.lock() {
            for (_, issued) in codes.iter_mut() {
                *issued = Instant::now()
                    .checked_sub(LINK_VALIDITY + Duration::from_secs(1))
                    .unwrap_or(*issued);
            }
        }
        assert!(!links.redeem(&code));
    }

    #[test]
    fn old_codes_make_room() {
        let links = SignInLinks::default();
        let first = links.issue().unwrap_or_default();
        let mut last = String::new();
        for _ in 0..MAX_LINKS {
            last = links.issue().unwrap_or_default();
        }
        assert!(
            !links.redeem(&first),
            "the oldest link is dropped at the cap"
        );
        assert!(links.redeem(&last));
    }
}
