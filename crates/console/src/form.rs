//! `application/x-www-form-urlencoded` bodies of the console's forms. The
//! token endpoint's parser caps bodies at 16 KiB; a pasted trust store may be
//! far larger, so the console reads up to the admin API's limit.

/// A decoded form: name/value pairs in order.
#[derive(Debug, Clone, Default)]
pub(super) struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// Decode a body: `&`-separated pairs, `+` is a space, `%XX` a byte, UTF-8.
    pub(super) fn parse(body: &[u8]) -> Result<Self, String> {
        let mut pairs = Vec::new();
        for segment in body.split(|&b| b == b'&').filter(|s| !s.is_empty()) {
            let (name, value) = match segment.iter().position(|&b| b == b'=') {
                Some(eq) => (&segment[..eq], &segment[eq + 1..]),
                None => (segment, &segment[segment.len()..]),
            };
            pairs.push((decode(name)?, decode(value)?));
        }
        Ok(Self { pairs })
    }

    /// The first value of `name`, or "" when absent.
    pub(super) fn get(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

fn decode(input: &[u8]) -> Result<String, String> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |c: Option<&u8>| c.and_then(|c| char::from(*c).to_digit(16));
                let (Some(hi), Some(lo)) = (hex(input.get(i + 1)), hex(input.get(i + 2))) else {
                    return Err(format!("bad percent-escape at byte {i} of a form field"));
                };
                // Two hex digits: at most 255.
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(0));
                i += 2;
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "a form field is not valid UTF-8".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_pairs() {
        let f = Form::parse(b"a=1+2&b=%3Cx%3E&c&a=second&d=%C3%A9").unwrap_or_default();
        assert_eq!(f.get("a"), "1 2");
        assert_eq!(f.get("b"), "<x>");
        assert_eq!(f.get("c"), "");
        assert_eq!(f.get("d"), "é");
        assert_eq!(f.get("missing"), "");
    }

    #[test]
    fn refuses_bad_escapes_and_utf8() {
        assert!(Form::parse(b"a=%G1").is_err());
        assert!(Form::parse(b"a=%4").is_err());
        assert!(Form::parse(b"a=%FF").is_err());
    }
}
