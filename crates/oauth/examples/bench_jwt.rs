//! Prints how fast access tokens are signed and verified on this machine.
//!
//! Run with `cargo run --release -p certbound-oauth --example bench_jwt`
//! (add `-- ITERATIONS` to change the count, default 20 000 per figure).
//! Each figure is one thread doing a bounded number of operations; the
//! token is a realistic certificate-bound RFC 9068 access token.

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
    ParsedPublicKey,
};
use certbound_oauth::claims::{self, IssueParams};
use certbound_oauth::jwt::{self, Validation};
use certbound_oauth::keys::{Algorithm, SigningKey, VerifyingKeys};
use certbound_oauth::secret;

const DEFAULT_ITERATIONS: u32 = 20_000;
const NOW: i64 = 1_800_000_000;

fn report(label: &str, iterations: u32, elapsed: Duration) {
    let per_op = elapsed.as_secs_f64() * 1e6 / f64::from(iterations);
    println!(
        "{label:<34} {per_op:>9.2} µs/op {:>12.0} ops/s   ({iterations} ops)",
        1e6 / per_op
    );
}

fn time<T>(iterations: u32, mut op: impl FnMut() -> T) -> Duration {
    // Warm up caches and the CPU clock before timing.
    for _ in 0..iterations.min(500) {
        black_box(op());
    }
    let start = Instant::now();
    for _ in 0..iterations {
        black_box(op());
    }
    start.elapsed()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let iterations = match std::env::args().nth(1) {
        Some(n) => n.parse::<u32>()?.clamp(1, 1_000_000),
        None => DEFAULT_ITERATIONS,
    };
    let audience = vec!["https://api.example.com".to_owned()];
    let scope = vec!["read".to_owned(), "write".to_owned()];
    let x5t = claims::x5t_s256(b"a client certificate");

    for alg in [Algorithm::Es256, Algorithm::EdDsa] {
        let (key, _) = SigningKey::generate(alg)?;
        let keys = VerifyingKeys::from_signing_keys([&key])?;
        let params = IssueParams {
            issuer: "https://as.example.com",
            client_id: "partner-a",
            subject: None,
            audience: &audience,
            scope: &scope,
            lifetime_secs: 300,
            certificate_thumbprint: Some(&x5t),
            extensions: None,
        };
        let issued = claims::issue(&key, &params, NOW)?;
        let token = issued.access_token.clone();
        let validation = Validation::new("https://as.example.com");
        println!("{alg}: token of {} bytes", token.len());

        let t = time(iterations, || jwt::sign(&key, &issued.claims));
        report(&format!("{alg} jwt::sign"), iterations, t);
        let t = time(iterations, || claims::issue(&key, &params, NOW));
        report(&format!("{alg} claims::issue (jti, sign)"), iterations, t);
        let t = time(iterations, || jwt::verify(&token, &keys));
        report(&format!("{alg} jwt::verify"), iterations, t);
        let t = time(iterations, || {
            claims::verify_access_token(&token, &keys, &validation, NOW)
        });
        report(&format!("{alg} verify_access_token"), iterations, t);
    }

    // The floor: aws-lc-rs alone on a token-sized message, for comparison.
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)?;
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())?;
    let message = [b'x'; 450];
    let signature = pair.sign(&rng, &message)?;
    let public = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, pair.public_key().as_ref())?;
    let t = time(iterations, || pair.sign(&rng, &message));
    report("aws-lc-rs P-256 sign (floor)", iterations, t);
    let t = time(iterations, || {
        public.verify_sig(&message, signature.as_ref())
    });
    report("aws-lc-rs P-256 verify (floor)", iterations, t);

    let stored = secret::hash_secret(&secret::generate_secret()?)?;
    let rounds = 20;
    let t = time(rounds, || secret::verify_secret("wrong", &stored));
    report(
        &format!("secret verify ({} iter)", secret::PBKDF2_ITERATIONS),
        rounds,
        t,
    );
    Ok(())
}
