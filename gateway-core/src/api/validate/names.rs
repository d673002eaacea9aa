//! The CRDs' string patterns, written out as small matchers (no regex, no panics), and the
//! Gateway API duration format.
//!
//! Each matcher names the pattern it implements; `tests.rs` checks each against the pattern
//! itself compiled with the `regex` crate on a corpus of tricky strings.

/// `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`: an RFC 1123 label (namespaces).
pub(super) fn is_dns_label(s: &str) -> bool {
    let bytes = s.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            is_lower_alnum(*first)
                && is_lower_alnum(*last)
                && bytes.iter().all(|b| is_lower_alnum(*b) || *b == b'-')
        }
        _ => false,
    }
}

/// `^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`: an RFC 1123 subdomain
/// (PreciseHostname, SectionName, rule and listener names, API groups).
pub(super) fn is_dns_subdomain(s: &str) -> bool {
    s.split('.').all(is_dns_label)
}

/// `^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`: Hostname, where
/// a wildcard may only be the whole first label.
pub(super) fn is_hostname(s: &str) -> bool {
    is_dns_subdomain(s.strip_prefix("*.").unwrap_or(s))
}

/// `^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`: Group.
pub(super) fn is_group(s: &str) -> bool {
    s.is_empty() || is_dns_subdomain(s)
}

/// `^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$`: Kind.
pub(super) fn is_kind(s: &str) -> bool {
    let bytes = s.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphabetic()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        }
        _ => false,
    }
}

/// `^[a-z]([-a-z0-9]*[a-z0-9])?$`: an RFC 1035 label (Service names).
pub(super) fn is_dns1035_label(s: &str) -> bool {
    is_dns_label(s) && s.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
}

/// ``^[A-Za-z0-9!#$%&'*+\-.^_\x60|~]+$``: an HTTP header name (RFC 7230 token), also used for
/// query parameter names.
pub(super) fn is_header_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// `^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$`: the characters of an HTTP path.
pub(super) fn is_path_chars(s: &str) -> bool {
    let bytes = s.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
        } else if b.is_ascii_alphanumeric() || b"-/._~!$&'()*+,;=:@".contains(&b) {
            i += 1;
        } else {
            return false;
        }
    }
    !bytes.is_empty()
}

/// `^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9\/\-._~%!$&'()*+,;=:]+$`:
/// GatewayController (`domain/path`).
pub(super) fn is_controller_name(s: &str) -> bool {
    match s.split_once('/') {
        Some((domain, path)) => {
            is_dns_subdomain(domain)
                && !path.is_empty()
                && path.bytes().all(is_controller_path_char)
        }
        None => false,
    }
}

/// `^Hostname|IPAddress|NamedAddress|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9\/\-._~%!$&'()*+,;=:]+$`:
/// AddressType. The alternation binds loosely, exactly as upstream wrote it: `Hostname` as a
/// prefix, `IPAddress` or `NamedAddress` anywhere, or a `domain/path` suffix.
pub(super) fn is_address_type(s: &str) -> bool {
    s.starts_with("Hostname")
        || s.contains("IPAddress")
        || s.contains("NamedAddress")
        || has_domain_path_suffix(s, is_controller_path_char)
}

/// `^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9]+$`:
/// ProtocolType. The second alternative is not anchored at the start.
pub(super) fn is_protocol(s: &str) -> bool {
    let bytes = s.as_bytes();
    let plain = match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        }
        _ => false,
    };
    plain || has_domain_path_suffix(s, |b| b.is_ascii_alphanumeric())
}

/// Whether some suffix of `s` is `<subdomain>/<path>` with every path byte accepted by
/// `path_char`. A subdomain may be a single `[a-z0-9]`, so it suffices that the byte before a
/// `/` is one.
fn has_domain_path_suffix(s: &str, path_char: impl Fn(u8) -> bool) -> bool {
    let bytes = s.as_bytes();
    bytes.iter().enumerate().any(|(i, b)| {
        *b == b'/'
            && i > 0
            && bytes.get(i - 1).is_some_and(|p| is_lower_alnum(*p))
            && bytes
                .get(i + 1..)
                .is_some_and(|rest| !rest.is_empty() && rest.iter().all(|c| path_char(*c)))
    })
}

/// `(^\*$)|(^([a-zA-Z][a-zA-Z0-9+\-.]+):\/\/([^:/?#]+)(:([0-9]{1,5}))?$)`: CORSOrigin.
pub(super) fn is_cors_origin(s: &str) -> bool {
    if s == "*" {
        return true;
    }
    let Some((scheme, rest)) = s.split_once("://") else {
        return false;
    };
    let scheme_ok = scheme.len() >= 2
        && scheme
            .as_bytes()
            .first()
            .is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    let (host, port) = match rest.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (rest, None),
    };
    let host_ok = !host.is_empty() && !host.contains(['/', '?', '#']);
    let port_ok =
        port.is_none_or(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    scheme_ok && host_ok && port_ok
}

/// `^(([^:/?#]+):)(//([^/?#]*))([^?#]*)(\?([^#]*))?(#(.*))?`: the SAN URI pattern. It is only
/// anchored at the start and everything after `//` may be empty, so it accepts exactly the
/// strings that start with `scheme://`.
pub(super) fn is_absolute_uri(s: &str) -> bool {
    match s.split_once(':') {
        Some((scheme, rest)) => {
            !scheme.is_empty() && !scheme.contains(['/', '?', '#']) && rest.starts_with("//")
        }
        None => false,
    }
}

/// `^(?i)\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$`: a gRPC service name. RE2 folds case with
/// Unicode simple folding, so `K` (U+212A KELVIN SIGN) and `ſ` (U+017F LATIN SMALL LETTER LONG S)
/// count as the letters k and s.
pub(super) fn is_grpc_service(s: &str) -> bool {
    let body = s.strip_prefix('.').unwrap_or(s);
    body.split('.').all(|part| {
        let mut chars = part.chars();
        let letter =
            |c: char| c.is_ascii_alphabetic() || c == '_' || c == '\u{212A}' || c == '\u{17F}';
        chars.next().is_some_and(letter) && chars.all(|c| letter(c) || c.is_ascii_digit())
    })
}

/// `^[A-Za-z_][A-Za-z_0-9]*$`: a gRPC method name.
pub(super) fn is_grpc_method(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes
        .first()
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// `^([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$` after an optional `<subdomain>/` prefix, and
/// a prefix shorter than 253 characters: a label or annotation key of `infrastructure`.
pub(super) fn is_label_key(s: &str) -> bool {
    let (prefix, name) = match s.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, s),
    };
    let prefix_ok = prefix.is_none_or(|p| is_dns_subdomain(p) && p.len() < 253);
    let bytes = name.as_bytes();
    let name_ok = match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            bytes.len() <= 63
                && first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b))
        }
        _ => false,
    };
    prefix_ok && name_ok
}

/// `^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`: a label value of `infrastructure`.
pub(super) fn is_label_value(s: &str) -> bool {
    let bytes = s.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b))
        }
        _ => true,
    }
}

/// Parses a Gateway API Duration (`^([0-9]{1,5}(h|m|s|ms)){1,4}$`, GEP-2257) into
/// milliseconds; `None` when it does not match the pattern.
pub(crate) fn parse_duration_ms(s: &str) -> Option<u64> {
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut groups = 0;
    let mut total: u64 = 0;
    while i < bytes.len() {
        let start = i;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let digits = i - start;
        if !(1..=5).contains(&digits) {
            return None;
        }
        let number: u64 = s.get(start..i)?.parse().ok()?;
        let unit_ms = match (bytes.get(i), bytes.get(i + 1)) {
            (Some(b'h'), _) => 3_600_000,
            (Some(b'm'), Some(b's')) => {
                i += 1;
                1
            }
            (Some(b'm'), _) => 60_000,
            (Some(b's'), _) => 1_000,
            _ => return None,
        };
        i += 1;
        groups += 1;
        total += number * unit_ms;
    }
    (1..=4).contains(&groups).then_some(total)
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// ``[A-Za-z0-9!#$%&'*+\-.^_`|~]``: RFC 7230 tchar.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `[A-Za-z0-9\/\-._~%!$&'()*+,;=:]`: the path characters of a controller name or address type.
fn is_controller_path_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"/-._~%!$&'()*+,;=:".contains(&b)
}
