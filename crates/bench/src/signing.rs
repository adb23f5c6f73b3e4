//! What signing alone costs: how many access tokens one core issues here with
//! certbound's own code (`certbound_oauth::claims::issue`: the claims, a
//! fresh `jti`, the ES256 signature), no TLS, no HTTP. It is the floor under
//! the token endpoint's CPU per token, and so the ceiling of tokens per second
//! a machine's cores can reach.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use certbound_oauth::claims::{IssueParams, issue};
use certbound_oauth::{Algorithm, SigningKey};

/// Tokens one core issues per second, and what that means for a target rate.
#[derive(Debug, Clone, Copy)]
pub struct Floor {
    /// Tokens issued per second on one thread.
    pub per_core: f64,
}

impl Floor {
    /// Microseconds of CPU per token for signing alone.
    pub fn us_per_token(self) -> f64 {
        1e6 / self.per_core
    }

    /// Cores that signing alone takes at `rate` tokens per second.
    pub fn cores_at(self, rate: f64) -> f64 {
        rate / self.per_core
    }
}

/// Issue ES256 tokens like the server's for `duration` on one thread (this
/// one), after a short warm-up.
pub fn measure(duration: Duration) -> Result<Floor> {
    let (key, _) = SigningKey::generate(Algorithm::Es256).context("generating an ES256 key")?;
    let audience = ["https://127.0.0.1:9443".to_string()];
    let scope = ["system/*.read".to_string()];
    // The SHA-256 thumbprint of a certificate, base64url: 43 characters.
    let thumbprint = "q3Jy6Vf9bC1rQ8m0Zx2Yw4Tv7Us5Rp1On3Ml6Kj8Hg0";
    let params = IssueParams {
        issuer: "https://127.0.0.1:9443",
        client_id: "bench-client",
        subject: None,
        audience: &audience,
        scope: &scope,
        lifetime_secs: 300,
        certificate_thumbprint: Some(thumbprint),
        extensions: None,
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let once = || {
        issue(&key, &params, now)
            .map(|t| t.access_token.len())
            .map_err(|e| anyhow!("signing a token: {e}"))
    };
    for _ in 0..200 {
        once()?;
    }
    let start = Instant::now();
    let mut issued = 0u64;
    while start.elapsed() < duration {
        for _ in 0..100 {
            std::hint::black_box(once()?);
        }
        issued += 100;
    }
    Ok(Floor {
        per_core: issued as f64 / start.elapsed().as_secs_f64(),
    })
}
