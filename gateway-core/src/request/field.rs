//! The checks every request field passes before routing: header names and values a proxy may
//! carry, and the method.
//!
//! A request that fails one is malformed and is answered 400 before any rule is looked at, in
//! every binding (SECURITY.md rule 4):
//!
//! - **A field value with CR, LF or NUL** (RFC 9110 §5.5: "Field values containing CR, LF, or
//!   NUL characters are invalid and dangerous"; RFC 9113 §8.2.1 makes such an HTTP/2 request
//!   malformed). Forwarded by an embedder that writes HTTP/1 headers itself, a CR LF starts a
//!   header line the client chose (the class of Envoy CVE-2023-27493), and a NUL ends the value
//!   early for C code (Envoy CVE-2019-9900). Other control bytes and obs-text are kept, as
//!   RFC 9110 allows; they can match no rule value that the CRD admits.
//! - **A field name that is not a name**: empty, or with a control byte, a space, DEL, a byte
//!   of 0x80 and above, or a `:` anywhere but first (a leading `:` is an HTTP/2 pseudo-header,
//!   which some hosts hand over with the other fields). These are the bytes RFC 9113 §8.2.1
//!   forbids in names other than upper case, and the ones that could end a name or a line on
//!   the way upstream.
//! - **`Authorization` or `Content-Length` more than once**: which one a backend or an auth
//!   service reads is up to it (Host is checked with the authority, see
//!   [`authority`](super::authority)).
//! - **A method that is not a token** (RFC 9110 §9.1, §5.6.2), and by default **a case variant
//!   of one of the nine `HTTPMethod` methods** ([`MethodCase`]).
//!
//! Each field is scanned once, with a table; `benches/README.md` says what the checks cost per
//! request.

use super::normalize::MethodCase;
use crate::outcome::BadRequest;

/// Whether a byte of `bytes` is marked in `table`: one load and one `or` per byte, no branch
/// per byte. (Reading eight bytes at a time measured no faster on the short fields of ordinary
/// requests.)
#[inline]
fn any_marked(bytes: &[u8], table: &[u8; 256]) -> bool {
    let mut marked = 0;
    for &b in bytes {
        marked |= table.get(usize::from(b)).copied().unwrap_or(1);
    }
    marked != 0
}

/// Bytes no field value may hold: CR, LF and NUL.
// Evaluated at compile time: an out-of-bounds index would be a build error, not a panic.
#[allow(clippy::indexing_slicing)]
const VALUE_BAD: [u8; 256] = {
    let mut table = [0; 256];
    table[0] = 1;
    table[b'\r' as usize] = 1;
    table[b'\n' as usize] = 1;
    table
};

/// Bytes no field name may hold: control bytes, space, DEL, 0x80 and above, and `:`.
#[allow(clippy::indexing_slicing)]
const NAME_BAD: [u8; 256] = {
    let mut table = [1; 256];
    let mut b = 0x21;
    while b < 0x7F {
        table[b] = (b == b':' as usize) as u8;
        b += 1;
    }
    table
};

/// Whether a field value holds CR, LF or NUL (RFC 9110 §5.5).
///
/// ```
/// use gateway_core::request::field::value_has_cr_lf_nul;
/// assert!(value_has_cr_lf_nul(b"a\r\nx-injected: 1"));
/// assert!(!value_has_cr_lf_nul(b"text/html;\tq=0.9"));
/// ```
#[must_use]
#[inline]
pub fn value_has_cr_lf_nul(value: &[u8]) -> bool {
    any_marked(value, &VALUE_BAD)
}

/// Whether `name` may be carried as a field name: not empty, and no control byte, space, DEL,
/// byte of 0x80 and above, or `:` past a leading one (an HTTP/2 pseudo-header such as
/// `:authority`). Upper case is allowed (HTTP/1 names are case-insensitive).
///
/// ```
/// use gateway_core::request::field::name_is_valid;
/// assert!(name_is_valid(b"X-Request-Id") && name_is_valid(b":authority"));
/// assert!(!name_is_valid(b"x-a\r\nx-b") && !name_is_valid(b"x:y") && !name_is_valid(b""));
/// ```
#[must_use]
#[inline]
pub fn name_is_valid(name: &[u8]) -> bool {
    let rest = match name {
        [] | [b':'] => return false,
        [b':', rest @ ..] => rest,
        _ => name,
    };
    !any_marked(rest, &NAME_BAD)
}

/// The nine methods of the CRD's `HTTPMethod` enum.
const STANDARD_METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// RFC 9110 §5.6.2 `tchar`.
const fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// Checks a request method: `Err` with the cause to answer 400 with.
///
/// # Errors
/// [`BadRequest::InvalidMethod`] for a method that is not a token (empty, or with a control
/// byte, a space or a delimiter); [`BadRequest::MethodCaseVariant`] for one of the nine
/// `HTTPMethod` methods spelled in another case (`post`) unless `case` is
/// [`MethodCase::Allow`].
///
/// ```
/// use gateway_core::outcome::BadRequest;
/// use gateway_core::request::field::check_method;
/// use gateway_core::request::normalize::MethodCase;
/// assert_eq!(check_method("PROPFIND", MethodCase::Reject), Ok(()));
/// assert_eq!(check_method("post", MethodCase::Reject), Err(BadRequest::MethodCaseVariant));
/// assert_eq!(check_method("post", MethodCase::Allow), Ok(()));
/// assert_eq!(check_method("GET\0", MethodCase::Allow), Err(BadRequest::InvalidMethod));
/// ```
pub fn check_method(method: &str, case: MethodCase) -> Result<(), BadRequest> {
    if matches!(
        method.as_bytes(),
        b"GET"
            | b"HEAD"
            | b"POST"
            | b"PUT"
            | b"DELETE"
            | b"CONNECT"
            | b"OPTIONS"
            | b"TRACE"
            | b"PATCH"
    ) {
        return Ok(());
    }
    if method.is_empty() || !method.bytes().all(is_tchar) {
        return Err(BadRequest::InvalidMethod);
    }
    if case == MethodCase::Reject
        && STANDARD_METHODS
            .iter()
            .any(|m| m.eq_ignore_ascii_case(method))
    {
        return Err(BadRequest::MethodCaseVariant);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_with_cr_lf_or_nul_is_found_wherever_it_sits() {
        for len in 0..40 {
            for at in 0..len {
                for bad in [0u8, b'\r', b'\n'] {
                    let mut value = vec![b'v'; len];
                    if let Some(slot) = value.get_mut(at) {
                        *slot = bad;
                    }
                    assert!(value_has_cr_lf_nul(&value), "{bad:#x} at {at} of {len}");
                }
            }
            let clean: Vec<u8> = (0..len).map(|i| b"\t !~\x7f\x80\x01\x1f"[i % 8]).collect();
            assert!(!value_has_cr_lf_nul(&clean), "{clean:?}");
        }
    }

    #[test]
    fn every_byte_a_field_name_may_not_carry_is_found_wherever_it_sits() {
        let bad: Vec<u8> = (0u8..=0x20).chain(0x7F..=0xFF).chain([b':']).collect();
        for len in 1..20 {
            for at in 0..len {
                for &b in &bad {
                    let mut name = vec![b'n'; len];
                    if let Some(slot) = name.get_mut(at) {
                        *slot = b;
                    }
                    // A leading `:` is a pseudo-header, valid when something follows it.
                    let expected = at == 0 && b == b':' && len > 1;
                    assert_eq!(name_is_valid(&name), expected, "{b:#x} at {at} of {len}");
                }
            }
        }
        assert!(name_is_valid(b"x-!#$%&'*+-.^_`|~09AZaz\"(),/;<=>?@[]{}"));
    }

    #[test]
    fn methods_are_tokens_and_standard_ones_are_spelled_exactly() {
        for m in STANDARD_METHODS {
            assert_eq!(check_method(m, MethodCase::Reject), Ok(()));
            let lower = m.to_ascii_lowercase();
            assert_eq!(
                check_method(&lower, MethodCase::Reject),
                Err(BadRequest::MethodCaseVariant)
            );
            assert_eq!(check_method(&lower, MethodCase::Allow), Ok(()));
        }
        for m in ["", "GE T", "GET\0", "G\r\nET", "GE(T", "G/ET", "GÉT"] {
            assert_eq!(
                check_method(m, MethodCase::Allow),
                Err(BadRequest::InvalidMethod),
                "{m:?}"
            );
        }
        for m in ["PROPFIND", "M-SEARCH", "purge", "BREW"] {
            assert_eq!(check_method(m, MethodCase::Reject), Ok(()), "{m}");
        }
    }
}
