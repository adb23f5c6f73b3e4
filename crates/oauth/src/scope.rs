//! Whether a client's allowed scope covers a requested one: equal strings,
//! or SMART scopes (App Launch 2.x §Scopes) that a wider SMART scope covers.
//!
//! A SMART scope is `context/resource.permissions[?query]`: context `system`,
//! `user` or `patient`; resource a FHIR type or `*`; permissions SMART v2
//! letters in the order `c r u d s`, or v1's `read` (= `rs`), `write` (=
//! `cud`) and `*` (= `cruds`). `system/*.rs` covers `system/Patient.read`,
//! `system/Patient.r` and `system/Observation.rs?category=laboratory`; it does
//! not cover `system/Patient.c` or `patient/Patient.r`. A scope that is not
//! SMART is covered only by itself.

/// Whether the allowed scope `allowed` covers the requested scope `requested`.
pub fn covers(allowed: &str, requested: &str) -> bool {
    if allowed == requested {
        return true;
    }
    let (Some(a), Some(r)) = (Smart::parse(allowed), Smart::parse(requested)) else {
        return false;
    };
    a.context == r.context
        && (a.resource == "*" || a.resource == r.resource)
        && r.permissions & !a.permissions == 0
        && (a.query.is_none() || a.query == r.query)
}

struct Smart<'a> {
    context: &'a str,
    resource: &'a str,
    /// Bits of `c r u d s`, `c` highest.
    permissions: u8,
    query: Option<&'a str>,
}

const LETTERS: &[u8; 5] = b"cruds";

impl<'a> Smart<'a> {
    fn parse(scope: &'a str) -> Option<Self> {
        let (context, rest) = scope.split_once('/')?;
        if !matches!(context, "system" | "user" | "patient") {
            return None;
        }
        let (resource, rest) = rest.split_once('.')?;
        if resource != "*"
            && (resource.is_empty() || !resource.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            return None;
        }
        let (perms, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let permissions = match perms {
            "read" => 0b01001,
            "write" => 0b10110,
            "*" => 0b11111,
            letters => letter_bits(letters)?,
        };
        Some(Self {
            context,
            resource,
            permissions,
            query,
        })
    }
}

/// SMART v2 permission letters, each at most once and in `cruds` order.
fn letter_bits(letters: &str) -> Option<u8> {
    let mut bits = 0u8;
    let mut next = 0;
    for b in letters.bytes() {
        let at = LETTERS.iter().skip(next).position(|l| *l == b)? + next;
        bits |= 1 << (4 - at);
        next = at + 1;
    }
    (bits != 0).then_some(bits)
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn wider_smart_scopes_cover_narrower_ones() {
        for (allowed, requested) in [
            ("system/*.rs", "system/Patient.rs"),
            ("system/*.rs", "system/Patient.r"),
            ("system/*.rs", "system/Patient.read"),
            ("system/*.read", "system/Observation.rs"),
            ("system/*.read", "system/Observation.s"),
            ("system/Patient.cruds", "system/Patient.cud"),
            ("system/Patient.*", "system/Patient.write"),
            ("system/*.cruds", "system/Claim.c"),
            (
                "system/Observation.rs",
                "system/Observation.rs?category=laboratory",
            ),
            (
                "system/Observation.rs?category=laboratory",
                "system/Observation.r?category=laboratory",
            ),
            ("read", "read"),
        ] {
            assert!(
                covers(allowed, requested),
                "{allowed} should cover {requested}"
            );
        }
    }

    #[test]
    fn what_is_not_covered_is_not() {
        for (allowed, requested) in [
            ("system/*.rs", "system/Patient.c"),
            ("system/*.read", "system/Patient.write"),
            ("system/Patient.rs", "system/Observation.rs"),
            ("system/*.rs", "patient/Patient.rs"),
            (
                "system/Observation.rs?category=laboratory",
                "system/Observation.rs",
            ),
            ("system/*.rs", "system/Patient.sr"),
            ("system/*.rs", "system/Patient.rr"),
            ("system/*.rs", "system/Patient."),
            ("system/*.rs", "system/Pat-ient.r"),
            ("system/*.rs", "other/Patient.r"),
            ("read", "write"),
            ("read", "system/Patient.r"),
        ] {
            assert!(
                !covers(allowed, requested),
                "{allowed} must not cover {requested}"
            );
        }
    }
}
