//! Golden values are built here from each proxy's documented encoding, not
//! with [`encode`], so that `encode` is checked against them too.

use super::*;
use crate::bundle::pem_blocks;
use certbound_testkit::{Ca, LeafOptions, TestPki, pem as pem_of};

/// A client chain `[leaf, intermediate]` whose leaf's base64 holds `+` and `/`
/// and ends in `=` padding, so the encodings that treat those specially are
/// exercised.
fn chain() -> (TestPki, Vec<CertDer>) {
    let pki = TestPki::new();
    let leaf = leaf_with_special_base64(&pki.intermediate);
    let chain = vec![leaf, pki.intermediate.cert.clone()];
    (pki, chain)
}

fn leaf_with_special_base64(ca: &Ca) -> CertDer {
    for i in 0..200 {
        let leaf = ca.issue(&LeafOptions::client(&format!("client {i}"))).cert;
        let b64 = STANDARD.encode(&leaf);
        if b64.contains('+') && b64.contains('/') && b64.ends_with('=') {
            return leaf;
        }
    }
    panic!("no certificate in 200 whose base64 holds `+`, `/` and `=`");
}

fn pem_text(chain: &[CertDer]) -> String {
    chain.iter().map(|c| pem_of("CERTIFICATE", c)).collect()
}

fn b64(cert: &CertDer) -> String {
    STANDARD.encode(cert)
}

/// Escapes the characters a PEM holds that are not RFC 3986 unreserved:
/// nginx's `ngx_escape_uri` and Envoy's five replacements both come to this.
fn escape_all(pem: &str) -> String {
    pem.replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
        .replace(' ', "%20")
        .replace('\n', "%0A")
}

/// ALB: "URL-encoded PEM format, with +=/ as safe characters".
fn alb_escape(pem: &str) -> String {
    pem.replace(' ', "%20").replace('\n', "%0A")
}

fn decoded(format: HeaderFormat, value: &str) -> Vec<CertDer> {
    match decode(format, value) {
        Ok(Some(certs)) => certs,
        other => panic!("{format}: expected certificates, got {other:?} for {value:.80}"),
    }
}

fn problem(format: HeaderFormat, value: &str) -> (Place, Problem) {
    match decode(format, value) {
        Err(ForwardedError::Malformed { place, problem, .. }) => (place, problem),
        other => panic!("{format}: expected a malformed value, got {other:?}"),
    }
}

fn private_key_der() -> Vec<u8> {
    let pki = TestPki::new();
    let leaf = pki.root.issue(&LeafOptions::client("key holder"));
    let blocks = pem_blocks(leaf.key_pem.as_bytes()).expect("testkit key PEM");
    blocks[0].der.clone()
}

// ---- AWS ALB -------------------------------------------------------------

#[test]
fn alb_passthrough_golden_keeps_plus_slash_and_equals_literal() {
    let (_pki, chain) = chain();
    let golden = alb_escape(&pem_text(&chain));
    assert!(golden.starts_with("-----BEGIN%20CERTIFICATE-----%0A"));
    assert!(golden.contains('+') && golden.contains('/') && golden.contains('='));
    assert_eq!(encode(HeaderFormat::AwsAlb, &chain), golden);
    assert_eq!(decoded(HeaderFormat::AwsAlb, &golden), chain);
}

#[test]
fn alb_value_through_a_form_decoder_is_refused_not_misread() {
    let (_pki, chain) = chain();
    // What `+` → space (application/x-www-form-urlencoded) would have made of it.
    let corrupted = alb_escape(&pem_text(&chain)).replace('+', " ");
    assert!(matches!(
        problem(HeaderFormat::AwsAlb, &corrupted),
        (_, Problem::Base64 { .. } | Problem::NotX509 { .. })
    ));
}

#[test]
fn alb_leaf_golden() {
    let (_pki, chain) = chain();
    let golden = alb_escape(&pem_text(&chain[..1]));
    assert_eq!(encode(HeaderFormat::AwsAlbLeaf, &chain), golden);
    assert_eq!(decoded(HeaderFormat::AwsAlbLeaf, &golden), chain[..1]);
}

#[test]
fn alb_leaf_refuses_a_chain() {
    let (_pki, chain) = chain();
    let value = alb_escape(&pem_text(&chain));
    assert_eq!(
        problem(HeaderFormat::AwsAlbLeaf, &value).1,
        Problem::OnlyLeaf { count: 2 }
    );
}

#[test]
fn bad_percent_escapes_are_errors_with_their_offset() {
    let (_pki, chain) = chain();
    let golden = alb_escape(&pem_text(&chain));
    let at = golden.find("%0A").expect("an escaped newline");
    let broken = golden.replacen("%0A", "%0G", 1);
    assert_eq!(
        problem(HeaderFormat::AwsAlb, &broken).1,
        Problem::BadPercentEscape {
            offset: at,
            found: "%0G".to_owned()
        }
    );
    for bad in ["abc%", "abc%4", "%%41", "%zz"] {
        assert!(
            matches!(
                problem(HeaderFormat::Nginx, bad).1,
                Problem::BadPercentEscape { .. }
            ),
            "{bad}"
        );
    }
}

// ---- nginx ---------------------------------------------------------------

#[test]
fn nginx_escaped_cert_golden() {
    let (_pki, chain) = chain();
    let golden = escape_all(&pem_text(&chain[..1]));
    assert!(golden.contains("%2B") && golden.contains("%2F") && golden.contains("%3D"));
    assert!(!golden.contains('+') && !golden.contains('='));
    assert_eq!(encode(HeaderFormat::Nginx, &chain), golden);
    assert_eq!(decoded(HeaderFormat::Nginx, &golden), chain[..1]);
    // Lower-case hex decodes too.
    let lower = golden.replace("%2B", "%2b").replace("%0A", "%0a");
    assert_eq!(decoded(HeaderFormat::Nginx, &lower), chain[..1]);
}

#[test]
fn nginx_refuses_a_private_key() {
    let key = private_key_der();
    let value = escape_all(&pem_of("PRIVATE KEY", &key));
    let (_, p) = problem(HeaderFormat::Nginx, &value);
    assert_eq!(
        p,
        Problem::PrivateKey {
            label: "PRIVATE KEY".to_owned()
        }
    );
    assert!(p.to_string().contains("not a certificate"));
}

#[test]
fn nginx_refuses_text_that_is_not_pem() {
    assert_eq!(
        problem(HeaderFormat::Nginx, "hello").1,
        Problem::NotPem { offset: 0 }
    );
}

// ---- RFC 9440 ------------------------------------------------------------

#[test]
fn rfc9440_client_cert_golden() {
    let (_pki, chain) = chain();
    let golden = format!(":{}:", b64(&chain[0]));
    assert_eq!(encode(HeaderFormat::Rfc9440, &chain), golden);
    assert_eq!(decoded(HeaderFormat::Rfc9440, &golden), chain[..1]);
    // RFC 8941: parameters are allowed (and ignored), padding may be missing.
    let with_params = format!("{golden};a=1;b=\"x\\\"y\";c=?1;d=tok/x:y;e=:AAE=:;f=-1.5");
    assert_eq!(decoded(HeaderFormat::Rfc9440, &with_params), chain[..1]);
    let unpadded = format!(":{}:", b64(&chain[0]).trim_end_matches('='));
    assert_eq!(decoded(HeaderFormat::Rfc9440, &unpadded), chain[..1]);
}

#[test]
fn rfc9440_chain_golden() {
    let (pki, chain) = chain();
    let rest = vec![chain[1].clone(), pki.root.cert.clone()];
    let golden = format!(":{}:, :{}:", b64(&rest[0]), b64(&rest[1]));
    assert_eq!(encode_rfc9440_chain(&rest), golden);
    assert_eq!(decode_rfc9440_chain(&golden).expect("chain"), rest);
    // Two field lines joined by the server, without the space.
    let joined = golden.replace(", ", ",");
    assert_eq!(decode_rfc9440_chain(&joined).expect("chain"), rest);
    assert_eq!(
        decode_rfc9440_chain("").expect("empty"),
        Vec::<CertDer>::new()
    );
}

#[test]
fn rfc9440_refuses_values_that_are_not_byte_sequences() {
    let (_pki, chain) = chain();
    let plain = b64(&chain[0]);
    assert_eq!(
        problem(HeaderFormat::Rfc9440, &plain).1,
        Problem::NotByteSequence
    );
    let unterminated = format!(":{plain}");
    assert!(matches!(
        problem(HeaderFormat::Rfc9440, &unterminated).1,
        Problem::StructuredField { .. }
    ));
    let trailing = format!(":{plain}: extra");
    assert!(matches!(
        problem(HeaderFormat::Rfc9440, &trailing).1,
        Problem::StructuredField { .. }
    ));
    let bad_char = format!(":{}*:", &plain[..8]);
    assert!(matches!(
        problem(HeaderFormat::Rfc9440, &bad_char).1,
        Problem::StructuredField { .. }
    ));
    assert_eq!(problem(HeaderFormat::Rfc9440, "::").1, Problem::Empty);
    let truncated = format!(":{}:", &plain[..plain.len() - 8]);
    assert!(matches!(
        problem(HeaderFormat::Rfc9440, &truncated).1,
        Problem::NotX509 { .. }
    ));
}

#[test]
fn rfc9440_chain_refusals_name_the_member() {
    let (_pki, chain) = chain();
    let one = format!(":{}:", b64(&chain[1]));
    for (value, member) in [
        (format!("{one}, ({one})"), 2),
        (format!("{one},"), 2),
        (format!("{one}, {}", b64(&chain[1])), 2),
        (format!("{one} {one}"), 1),
    ] {
        match decode_rfc9440_chain(&value) {
            Err(ForwardedError::Malformed { place, .. }) => {
                assert_eq!(place.member, Some(member), "{value:.40}");
            }
            other => panic!("expected an error, got {other:?}"),
        }
    }
    let many = vec![one; MAX_FORWARDED_CERTIFICATES + 1].join(", ");
    assert!(matches!(
        decode_rfc9440_chain(&many),
        Err(ForwardedError::Malformed {
            problem: Problem::TooManyCertificates { .. },
            ..
        })
    ));
}

// ---- Envoy XFCC ----------------------------------------------------------

fn envoy_element(chain: &[CertDer], extra: &str) -> String {
    let hash: String = crate::thumbprint::sha256(&chain[0])
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "By=spiffe://cluster.local/ns/edge/sa/envoy;Hash={hash};Cert=\"{}\";Chain=\"{}\"{extra}",
        escape_all(&pem_text(&chain[..1])),
        escape_all(&pem_text(chain)),
    )
}

#[test]
fn xfcc_single_element_golden() {
    let (_pki, chain) = chain();
    let golden = envoy_element(
        &chain,
        ";Subject=\"CN=client,O=certbound tests\";URI=;DNS=a.example",
    );
    assert_eq!(decoded(HeaderFormat::EnvoyXfcc, &golden), chain);
    let encoded = encode(HeaderFormat::EnvoyXfcc, &chain);
    assert!(golden.contains(encoded.as_str()), "{encoded:.60}");
    assert_eq!(decoded(HeaderFormat::EnvoyXfcc, &encoded), chain);
}

#[test]
fn xfcc_takes_the_last_element_and_skips_quoted_separators() {
    let (pki, chain) = chain();
    let earlier = vec![
        pki.other_root
            .issue(&LeafOptions::client("earlier hop"))
            .cert,
    ];
    let first = envoy_element(
        &earlier,
        ";Subject=\"CN=a\\\"quoted\\\" name, O=x;y=z\";URI=spiffe://a",
    );
    let header = format!("{first}, {}", envoy_element(&chain, ";DNS=b.example"));
    assert_eq!(decoded(HeaderFormat::EnvoyXfcc, &header), chain);
    // And the other way round.
    let header = format!("{},{first}", envoy_element(&chain, ""));
    assert_eq!(decoded(HeaderFormat::EnvoyXfcc, &header), earlier);
}

#[test]
fn xfcc_cert_alone_chain_alone_and_case_insensitive_keys() {
    let (_pki, chain) = chain();
    let cert = escape_all(&pem_text(&chain[..1]));
    let all = escape_all(&pem_text(&chain));
    assert_eq!(
        decoded(HeaderFormat::EnvoyXfcc, &format!("Hash=00;cert=\"{cert}\"")),
        chain[..1]
    );
    assert_eq!(
        decoded(HeaderFormat::EnvoyXfcc, &format!("CHAIN={all}")),
        chain
    );
}

#[test]
fn xfcc_refusals() {
    let (pki, chain) = chain();
    let cert = escape_all(&pem_text(&chain[..1]));
    let all = escape_all(&pem_text(&chain));
    let other = escape_all(&pem_text(std::slice::from_ref(&pki.root.cert)));
    let no_cert = format!("Hash=00;Cert=\"{cert}\",By=spiffe://x;Hash=11;URI=spiffe://y");
    assert_eq!(
        problem(HeaderFormat::EnvoyXfcc, &no_cert),
        (
            Place {
                element: Some(2),
                ..Place::default()
            },
            Problem::XfccNoCert
        )
    );
    let twice = format!("Cert=\"{cert}\";Cert=\"{other}\"");
    assert_eq!(
        problem(HeaderFormat::EnvoyXfcc, &twice).1,
        Problem::XfccDuplicateKey { key: "Cert" }
    );
    let mismatch = format!("Cert=\"{other}\";Chain=\"{all}\"");
    assert_eq!(
        problem(HeaderFormat::EnvoyXfcc, &mismatch).1,
        Problem::XfccLeafMismatch
    );
    let chain_as_cert = format!("Cert=\"{all}\"");
    assert_eq!(
        problem(HeaderFormat::EnvoyXfcc, &chain_as_cert).1,
        Problem::OnlyLeaf { count: 2 }
    );
    for bad in [
        format!("Cert=\"{cert}"),
        format!("Cert=\"{cert}\"x"),
        format!("Hash=00,,Cert=\"{cert}\""),
        format!("Hash;Cert=\"{cert}\""),
        format!("=00;Cert=\"{cert}\""),
        format!("Hash=0\"0;Cert=\"{cert}\""),
    ] {
        assert!(
            matches!(
                problem(HeaderFormat::EnvoyXfcc, &bad).1,
                Problem::Xfcc { .. }
            ),
            "{bad:.40}"
        );
    }
}

#[test]
fn xfcc_error_names_element_and_key() {
    let (_pki, chain) = chain();
    let cert = escape_all(&pem_text(&chain[..1]));
    let header = format!("Cert=\"{cert}\",Hash=00;Cert=\"-----BEGIN%G1\"");
    let err = decode(HeaderFormat::EnvoyXfcc, &header).expect_err("bad escape");
    assert_eq!(
        err.to_string(),
        "x-forwarded-client-cert header (format `envoy-xfcc`), element 2, Cert value: \
         `%G1` at byte 10 is not a percent escape (`%` must be followed by two hex digits), \
         so this is not the URL-encoding the format expects"
    );
}

// ---- Traefik -------------------------------------------------------------

#[test]
fn traefik_base64_list_golden() {
    let (_pki, chain) = chain();
    let golden = format!("{},{}", b64(&chain[0]), b64(&chain[1]));
    assert_eq!(encode(HeaderFormat::Traefik, &chain), golden);
    assert_eq!(decoded(HeaderFormat::Traefik, &golden), chain);
}

#[test]
fn traefik_older_query_escaped_forms() {
    let (_pki, chain) = chain();
    // v1.7 to v2.9.1: url.QueryEscape of each base64 body.
    let query_escape = |s: &str| {
        s.replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D")
    };
    let escaped = format!(
        "{},{}",
        query_escape(&b64(&chain[0])),
        query_escape(&b64(&chain[1]))
    );
    assert_eq!(decoded(HeaderFormat::Traefik, &escaped), chain);
    // url.QueryEscape of a whole PEM: spaces in the armor become `+`.
    let pem = query_escape(&pem_text(&chain))
        .replace('\n', "%0A")
        .replace(' ', "+");
    assert!(pem.starts_with("-----BEGIN+CERTIFICATE-----%0A"));
    assert_eq!(decoded(HeaderFormat::Traefik, &pem), chain);
}

#[test]
fn traefik_refusals_name_the_certificate() {
    let (_pki, chain) = chain();
    let full = b64(&chain[0]);
    let truncated = format!("{full},{}", &b64(&chain[1])[..40]);
    assert!(matches!(
        problem(HeaderFormat::Traefik, &truncated),
        (
            Place {
                certificate: Some(2),
                ..
            },
            Problem::NotX509 { .. }
        )
    ));
    let empty_item = format!("{full},");
    assert_eq!(
        problem(HeaderFormat::Traefik, &empty_item).1,
        Problem::Empty
    );
    let many = vec![full; MAX_FORWARDED_CERTIFICATES + 1].join(",");
    assert!(matches!(
        problem(HeaderFormat::Traefik, &many).1,
        Problem::TooManyCertificates { .. }
    ));
}

// ---- HAProxy, Caddy: base64 DER ------------------------------------------

#[test]
fn base64_der_golden_and_no_certificate_markers() {
    let (_pki, chain) = chain();
    let golden = b64(&chain[0]);
    assert_eq!(encode(HeaderFormat::Base64Der, &chain), golden);
    assert_eq!(decoded(HeaderFormat::Base64Der, &golden), chain[..1]);
    // HAProxy %{+Q}[ssl_c_der,base64]
    assert_eq!(
        decoded(HeaderFormat::Base64Der, &format!("\"{golden}\"")),
        chain[..1]
    );
    for none in ["", "  ", "-", "\"\"", CADDY_NO_CERTIFICATE] {
        assert_eq!(decode(HeaderFormat::Base64Der, none), Ok(None), "{none}");
    }
}

#[test]
fn base64_der_refusals() {
    let (_pki, chain) = chain();
    let golden = b64(&chain[0]);
    let cut_padding = &golden[..golden.len() - 1];
    assert!(matches!(
        problem(HeaderFormat::Base64Der, cut_padding).1,
        Problem::Base64 { .. }
    ));
    let cut_block = &golden[..golden.len() - 8];
    assert!(matches!(
        problem(HeaderFormat::Base64Der, cut_block).1,
        Problem::NotX509 { .. }
    ));
    let key = STANDARD.encode(private_key_der());
    assert!(matches!(
        problem(HeaderFormat::Base64Der, &key).1,
        Problem::NotX509 { .. }
    ));
    let mut with_extra = chain[0].to_vec();
    with_extra.extend_from_slice(&[0, 0]);
    assert_eq!(
        problem(HeaderFormat::Base64Der, &STANDARD.encode(with_extra)).1,
        Problem::TrailingBytes { count: 2 }
    );
    let pem = pem_text(&chain[..1]);
    assert!(matches!(
        problem(HeaderFormat::Base64Der, &pem).1,
        Problem::Base64 { .. }
    ));
}

// ---- Apache and generic PEM ----------------------------------------------

#[test]
fn apache_pem_with_spaces_or_tabs() {
    let (_pki, chain) = chain();
    let apache = pem_text(&chain[..1]).replace('\n', " ");
    assert_eq!(encode(HeaderFormat::Pem, &chain[..1]), apache.trim_end());
    assert_eq!(decoded(HeaderFormat::Pem, &apache), chain[..1]);
    let tabs = pem_text(&chain).replace('\n', "\t");
    assert_eq!(decoded(HeaderFormat::Pem, &tabs), chain);
    assert_eq!(decoded(HeaderFormat::Pem, &pem_text(&chain)), chain);
    assert_eq!(decode(HeaderFormat::Pem, APACHE_NO_CERTIFICATE), Ok(None));
}

#[test]
fn pem_accepts_url_escaped_pem() {
    let (_pki, chain) = chain();
    assert_eq!(
        decoded(HeaderFormat::Pem, &escape_all(&pem_text(&chain))),
        chain
    );
    assert_eq!(
        decoded(HeaderFormat::Pem, &alb_escape(&pem_text(&chain))),
        chain
    );
}

#[test]
fn pem_refuses_anything_but_certificate_blocks() {
    let (_pki, chain) = chain();
    let text = pem_text(&chain[..1]);
    let noisy = format!("subject=CN=x\n{text}");
    assert_eq!(
        problem(HeaderFormat::Pem, &noisy).1,
        Problem::NotPem { offset: 0 }
    );
    let trailing = format!("{text}junk");
    assert!(matches!(
        problem(HeaderFormat::Pem, &trailing).1,
        Problem::NotPem { .. }
    ));
    let mismatched = text.replace("END CERTIFICATE", "END X509 CRL");
    assert!(matches!(
        problem(HeaderFormat::Pem, &mismatched).1,
        Problem::Unterminated { .. }
    ));
    let with_key = format!("{text}{}", pem_of("PRIVATE KEY", &private_key_der()));
    assert_eq!(
        problem(HeaderFormat::Pem, &with_key),
        (
            Place {
                certificate: Some(2),
                ..Place::default()
            },
            Problem::PrivateKey {
                label: "PRIVATE KEY".to_owned()
            }
        )
    );
    let csr = pem_of("CERTIFICATE REQUEST", &[0x30, 0]);
    assert!(matches!(
        problem(HeaderFormat::Pem, &csr).1,
        Problem::NotCertificate { .. }
    ));
    let cut = text.replacen(&b64(&chain[0])[..64], &b64(&chain[0])[..60], 1);
    assert!(matches!(
        problem(HeaderFormat::Pem, &cut).1,
        Problem::Base64 { .. } | Problem::NotX509 { .. }
    ));
    let many = text.repeat(MAX_FORWARDED_CERTIFICATES + 1);
    assert!(matches!(
        problem(HeaderFormat::Pem, &many).1,
        Problem::TooManyCertificates { .. }
    ));
    assert_eq!(
        problem(HeaderFormat::Pem, "%0A%20").1,
        Problem::NoCertificate
    );
}

// ---- every format ----------------------------------------------------------

#[test]
fn every_format_round_trips_and_reads_empty_as_no_certificate() {
    let (_pki, chain) = chain();
    for format in HeaderFormat::ALL {
        let expected = if format.carries_chain() {
            &chain[..]
        } else {
            &chain[..1]
        };
        assert_eq!(
            decoded(format, &encode(format, &chain)),
            expected,
            "{format}"
        );
        assert_eq!(decode(format, ""), Ok(None), "{format}");
        assert_eq!(decode(format, " \t "), Ok(None), "{format}");
        assert_eq!(encode(format, &[]), "", "{format}");
    }
}

#[test]
fn every_format_refuses_oversized_values_before_decoding() {
    let big = "A".repeat(MAX_HEADER_VALUE_BYTES + 1);
    for format in HeaderFormat::ALL {
        assert_eq!(
            decode(format, &big),
            Err(ForwardedError::TooLarge {
                field: Field::Value(format),
                len: MAX_HEADER_VALUE_BYTES + 1,
                max: MAX_HEADER_VALUE_BYTES,
            })
        );
        let at_limit = "A".repeat(MAX_HEADER_VALUE_BYTES);
        assert!(matches!(
            decode(format, &at_limit),
            Err(ForwardedError::Malformed { .. })
        ));
    }
    assert!(matches!(
        decode_rfc9440_chain(&big),
        Err(ForwardedError::TooLarge { .. })
    ));
}

#[test]
fn leaf_only_formats_refuse_a_chain() {
    let (_pki, chain) = chain();
    let two = escape_all(&pem_text(&chain));
    assert_eq!(
        problem(HeaderFormat::Nginx, &two).1,
        Problem::OnlyLeaf { count: 2 }
    );
}

#[test]
fn format_names_parse_display_and_deserialize() {
    for format in HeaderFormat::ALL {
        assert_eq!(format.to_string().parse::<HeaderFormat>(), Ok(format));
        let json = format!("\"{format}\"");
        let parsed: HeaderFormat = serde_json::from_str(&json).expect("known name");
        assert_eq!(parsed, format);
        assert_eq!(serde_json::to_string(&format).expect("serialize"), json);
    }
    for wrong in ["aws-lc-alb", "AWS-ALB", "xfcc", ""] {
        let err = wrong.parse::<HeaderFormat>().expect_err(wrong);
        assert!(err.to_string().contains("use one of aws-alb,"), "{err}");
        assert!(serde_json::from_str::<HeaderFormat>(&format!("\"{wrong}\"")).is_err());
    }
    assert_eq!(
        HeaderFormat::AwsAlb.default_header_name(),
        Some("x-amzn-mtls-clientcert")
    );
    assert_eq!(HeaderFormat::Nginx.default_header_name(), None);
}

#[test]
fn a_certificate_must_start_with_a_der_sequence() {
    // Found by fuzzing: x509-parser ignores the class and form bits of the
    // outer tag, so 0x10 (SEQUENCE without the constructed bit) parsed.
    let (_pki, chain) = chain();
    let mut der = chain[0].to_vec();
    der[0] = 0x10;
    assert!(matches!(
        problem(HeaderFormat::Base64Der, &STANDARD.encode(&der)).1,
        Problem::NotX509 { .. }
    ));
}
