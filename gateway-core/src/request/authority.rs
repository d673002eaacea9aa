//! Host / `:authority` selection and canonicalization (SECURITY.md rule 3).
//!
//! Host routing, host-based policy, the ext-auth check and the upstream request must all see the
//! same host. [`request_host`] picks *which* raw authority a request is for;
//! [`canonical_host`] turns it into one canonical spelling or refuses it (400).
//!
//! # Which authority ([`request_host`])
//!
//! - The absolute-form target's authority wins (RFC 9112 §3.2.2: a server "MUST ignore the
//!   received Host header field" then). The Host header is still validated (RFC 9112 §3.2: a
//!   Host "with an invalid field value" is a 400) but its value is not used; the caller must
//!   forward the chosen host, never the client's Host.
//! - Else the HTTP/2 (or HTTP/3) `:authority`. A Host header that identifies a different entity
//!   is refused ([`HostError::Conflict`]; RFC 9113 §8.3.1 says a server SHOULD treat it as
//!   malformed). Both are compared after canonicalization, port included: `example.com` and
//!   `example.com:443` conflict, because which one the backend reads is up to the backend.
//! - Else exactly one Host header: none is [`HostError::Missing`].
//! - In every case, more than one Host header line is [`HostError::Duplicate`] (RFC 9112 §3.2:
//!   "MUST respond with a 400"): components picking different ones is a differential.
//!
//! # Canonical host ([`canonical_host`])
//!
//! 1. Optional whitespace (SP, HTAB) is trimmed at the ends only; whitespace anywhere else is an
//!    [`HostError::InvalidByte`]. `"example.com "` bypassed host matchers in Envoy
//!    CVE-2019-18802.
//! 2. Userinfo (`user@host`) is refused ([`HostError::UserInfo`]): RFC 9110 §4.2.4 deprecates it
//!    and it lets `trusted@evil` read as either host.
//! 3. The port is split off and returned separately: digits only, `1..=65535`, at most five
//!    digits ([`HostError::BadPort`]); an empty port after `:` means none (RFC 3986 §3.2.3).
//!    Listener selection uses the connection's port, never this one (SECURITY.md rule 7).
//! 4. An IP-literal `[...]` must parse as [`std::net::Ipv6Addr`]; IPvFuture and zone IDs are
//!    refused ([`HostError::BadIpLiteral`]). It is re-spelled in RFC 5952 form (`[::1]`), kept in
//!    brackets.
//! 5. A reg-name may only contain ASCII letters, digits, `-`, `_` and `.`. RFC 3986 also allows
//!    sub-delims and percent-encoding, but hosts here are DNS names; anything else is refused
//!    ([`HostError::InvalidByte`]), notably `/`, which HAProxy glued onto the path
//!    (haproxy/haproxy#2941), `%`, whose decoding components disagree on, and non-ASCII
//!    (internationalized names must arrive as A-labels, `xn--`).
//! 6. ASCII letters are lower-cased: routing was case-insensitive while policy was not in Istio
//!    CVE-2021-39155.
//! 7. One trailing dot is removed (`example.com.` is `example.com`, as linkerd does; Envoy
//!    Gateway otherwise answers 404). After that an empty label (`a..b`, `.a`, `.`, `a..`) is
//!    [`HostError::EmptyLabel`], and more than 255 bytes is [`HostError::TooLong`].
//! 8. Hardening: a name whose last label is a number (all digits, or `0x` hex) must be a
//!    dotted-decimal IPv4 address with no leading zeros ([`HostError::BadIpv4`]). WHATWG URL
//!    parsers and `inet_aton` read `2130706433`, `0x7f.1` or `0177.0.0.1` as `127.0.0.1`, while
//!    a host matcher reads them as names.
//!
//! The result is [`Cow::Borrowed`] (a slice of the input, port and trailing dot cut off) unless
//! letters had to be lower-cased or an IPv6 literal re-spelled.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::borrow::Cow;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Longest accepted host in bytes, without port or trailing dot (SECURITY.md default limits).
pub const MAX_HOST_LEN: usize = 255;

/// Why a Host / `:authority` is refused; all map to HTTP 400.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostError {
    /// The authority (or its host part) is empty.
    Empty,
    /// The host is longer than [`MAX_HOST_LEN`] bytes.
    TooLong {
        /// Length of the host in bytes.
        len: usize,
    },
    /// A byte that may not appear in a host (anything but letters, digits, `-`, `_`, `.`).
    InvalidByte {
        /// The offending byte.
        byte: u8,
    },
    /// An empty label: `a..b`, a leading `.`, a lone `.`, or two trailing dots.
    EmptyLabel,
    /// A port that is not 1 to 5 digits in `1..=65535`.
    BadPort,
    /// An IP-literal (`[...]`) that is not a plain IPv6 address, or is unterminated.
    BadIpLiteral,
    /// A numeric-looking name that is not a canonical dotted-decimal IPv4 address.
    BadIpv4,
    /// The authority contains userinfo (`user@host`).
    UserInfo,
    /// No absolute-form authority, no `:authority` and no Host header.
    Missing,
    /// More than one Host header line.
    Duplicate,
    /// The Host header names a different host or port than `:authority`.
    Conflict,
    /// The Host header value is not UTF-8.
    NotUtf8,
}

impl HostError {
    /// The HTTP status to answer with: always 400 (Bad Request).
    #[must_use]
    pub const fn status(&self) -> u16 {
        400
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("host is empty"),
            Self::TooLong { len } => {
                write!(f, "host is {len} bytes, longer than {MAX_HOST_LEN}")
            }
            Self::InvalidByte { byte } => write!(f, "invalid byte 0x{byte:02x} in host"),
            Self::EmptyLabel => f.write_str("host has an empty label"),
            Self::BadPort => f.write_str("invalid port in authority"),
            Self::BadIpLiteral => f.write_str("invalid ip literal in authority"),
            Self::BadIpv4 => f.write_str("numeric host is not a canonical ipv4 address"),
            Self::UserInfo => f.write_str("authority contains userinfo"),
            Self::Missing => f.write_str("request has no host"),
            Self::Duplicate => f.write_str("request has more than one host header"),
            Self::Conflict => f.write_str("host header conflicts with :authority"),
            Self::NotUtf8 => f.write_str("host header is not utf-8"),
        }
    }
}

impl std::error::Error for HostError {}

/// As [`request_host`], returning the canonical host and port, computed once.
///
/// # Errors
/// As [`request_host`], and any [`canonical_host`] error of the chosen authority.
///
/// # Examples
/// ```
/// use gateway_core::request::authority::request_host_canonical;
/// let mut hosts = [&b"Shop.Example.com:8080"[..]].into_iter();
/// let (host, port) = request_host_canonical(None, None, &mut hosts).unwrap();
/// assert_eq!((&*host, port), ("shop.example.com", Some(8080)));
/// ```
pub fn request_host_canonical<'a>(
    absolute_authority: Option<&'a str>,
    h2_authority: Option<&'a str>,
    host_headers: &mut dyn Iterator<Item = &'a [u8]>,
) -> Result<(Cow<'a, str>, Option<u16>), HostError> {
    if absolute_authority.is_none() && h2_authority.is_none() {
        let first = host_headers.next();
        let more = first.is_some() && host_headers.next().is_some();
        return sole_host_line(first.map(|line| std::str::from_utf8(line).ok()), more);
    }
    canonical_host(request_host(
        absolute_authority,
        h2_authority,
        host_headers,
    )?)
}

/// The host of a request whose target and pseudo-headers name no authority, from its Host
/// lines: RFC 9112 §3.2 wants exactly one. `first` is the first line (`None` inside when it is
/// not UTF-8), `more` whether another follows. The router calls this with the lines its header
/// scan found, [`request_host_canonical`] with the ones it reads.
pub(crate) fn sole_host_line(
    first: Option<Option<&str>>,
    more: bool,
) -> Result<(Cow<'_, str>, Option<u16>), HostError> {
    let line = first.ok_or(HostError::Missing)?;
    if more {
        return Err(HostError::Duplicate);
    }
    canonical_host(line.ok_or(HostError::NotUtf8)?)
}

/// Which raw authority a request is for, per SECURITY.md rule 3 (see the module docs).
///
/// `absolute_authority` is the authority of an absolute-form target, `h2_authority` the HTTP/2
/// or HTTP/3 `:authority` pseudo-header, `host_headers` every Host header line in order. The
/// result is not yet canonical: pass it to [`canonical_host`]. Reads at most two Host lines.
///
/// # Errors
///
/// [`HostError::Duplicate`] for more than one Host line, [`HostError::NotUtf8`] or any
/// [`canonical_host`] error for an invalid Host value, [`HostError::Conflict`] when Host and
/// `:authority` differ, [`HostError::Missing`] when there is no authority at all.
///
/// # Examples
///
/// ```
/// # use gateway_core::request::authority::{request_host, HostError};
/// let mut hosts = [&b"example.com"[..]].into_iter();
/// assert_eq!(request_host(None, None, &mut hosts), Ok("example.com"));
/// let mut hosts = [&b"a.example"[..]].into_iter();
/// assert_eq!(request_host(None, Some("b.example"), &mut hosts), Err(HostError::Conflict));
/// ```
pub fn request_host<'a>(
    absolute_authority: Option<&'a str>,
    h2_authority: Option<&'a str>,
    host_headers: &mut dyn Iterator<Item = &'a [u8]>,
) -> Result<&'a str, HostError> {
    let first = host_headers.next();
    if host_headers.next().is_some() {
        return Err(HostError::Duplicate);
    }
    let host_header = match first {
        Some(bytes) => {
            let host = std::str::from_utf8(bytes).map_err(|_| HostError::NotUtf8)?;
            // RFC 9112 §3.2: a Host with an invalid value is a 400 even when it is not used.
            let canonical = canonical_host(host)?;
            Some((host, canonical))
        }
        None => None,
    };
    if let Some(authority) = absolute_authority {
        return Ok(authority);
    }
    if let Some(authority) = h2_authority {
        if let Some((_, host_canonical)) = &host_header
            && canonical_host(authority)? != *host_canonical
        {
            return Err(HostError::Conflict);
        }
        return Ok(authority);
    }
    host_header.map(|(host, _)| host).ok_or(HostError::Missing)
}

/// Canonicalizes a Host / `:authority` value into `(host, port)` (see the module docs).
///
/// The host is lower-case ASCII, without port or trailing dot: a validated reg-name, a
/// dotted-decimal IPv4 address, or an IPv6 literal in brackets. Borrowed unless it had to be
/// lower-cased or re-spelled. Linear in the input length.
///
/// # Errors
///
/// Any [`HostError`] except `Missing`, `Duplicate`, `Conflict` and `NotUtf8`.
///
/// # Examples
///
/// ```
/// # use gateway_core::request::authority::{canonical_host, HostError};
/// let (host, port) = canonical_host(" Example.COM.:8080\t").unwrap();
/// assert_eq!((&*host, port), ("example.com", Some(8080)));
/// assert_eq!(canonical_host("a..b"), Err(HostError::EmptyLabel));
/// ```
pub fn canonical_host(authority: &str) -> Result<(Cow<'_, str>, Option<u16>), HostError> {
    match canonical_fast(authority) {
        Some(fast) => Ok(fast),
        None => canonical_general(authority),
    }
}

/// Every authority, canonical or not: trimmed, split, checked and lower-cased step by step.
fn canonical_general(authority: &str) -> Result<(Cow<'_, str>, Option<u16>), HostError> {
    let trimmed = authority.trim_matches([' ', '\t']);
    if trimmed.is_empty() {
        return Err(HostError::Empty);
    }
    if trimmed.contains('@') {
        return Err(HostError::UserInfo);
    }
    let (host, port) = split_port(trimmed)?;
    if host.is_empty() {
        return Err(HostError::Empty);
    }
    let host = if host.starts_with('[') {
        canonical_ip_literal(host)?
    } else {
        canonical_reg_name(host)?
    };
    Ok((host, port))
}

// === helpers ===

/// The common case in one pass: an already canonical reg-name (lower-case letters, digits,
/// `-`, `_`, non-empty labels, no trailing dot, not ending in a number), optionally followed
/// by `:port`. Anything else returns `None` and takes the general path, which decides.
fn canonical_fast(authority: &str) -> Option<(Cow<'_, str>, Option<u16>)> {
    let bytes = authority.as_bytes();
    // One look per byte: labels of label bytes, each non-empty (no leading `.`, `..` or
    // trailing `.`), up to the end or a `:`.
    let mut i = 0;
    let mut last_label = 0;
    let end = loop {
        match bytes.get(i) {
            Some(&b) if LABEL_BYTE.get(usize::from(b)).copied().unwrap_or(false) => i += 1,
            Some(b'.') if i > last_label => {
                i += 1;
                last_label = i;
            }
            Some(b':') | None if i > last_label => break i,
            _ => return None,
        }
    };
    // A numeric last label (IPv4 and the WHATWG number rules) goes the general way.
    let last = bytes.get(last_label..end)?;
    if end > MAX_HOST_LEN || last.starts_with(b"0x") || last.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let host = authority.get(..end)?;
    let port = match authority.get(end..) {
        None | Some("") => None,
        Some(rest) => parse_port(rest.strip_prefix(':')?).ok()?,
    };
    Some((Cow::Borrowed(host), port))
}

/// Bytes of a canonical label in [`canonical_fast`]: lower-case letters, digits, `-` and `_`.
// Evaluated at compile time: an out-of-bounds index would be a build error, not a panic.
#[allow(clippy::indexing_slicing)]
const LABEL_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = matches!(b as u8, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_');
        b += 1;
    }
    table
};

fn split_port(authority: &str) -> Result<(&str, Option<u16>), HostError> {
    if authority.starts_with('[') {
        let Some(close) = authority.find(']') else {
            return Err(HostError::BadIpLiteral);
        };
        let (literal, rest) = authority.split_at(close + 1);
        return match rest.strip_prefix(':') {
            Some(port) => Ok((literal, parse_port(port)?)),
            None if rest.is_empty() => Ok((literal, None)),
            None => Err(HostError::BadIpLiteral),
        };
    }
    match authority.split_once(':') {
        Some((host, port)) => Ok((host, parse_port(port)?)),
        None => Ok((authority, None)),
    }
}

/// `port = *DIGIT` (RFC 3986 §3.2.3); empty means none; otherwise 1 to 5 digits, `1..=65535`.
fn parse_port(port: &str) -> Result<Option<u16>, HostError> {
    if port.is_empty() {
        return Ok(None);
    }
    if port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HostError::BadPort);
    }
    match port.parse::<u16>() {
        Ok(0) | Err(_) => Err(HostError::BadPort),
        Ok(n) => Ok(Some(n)),
    }
}

/// `[IPv6address]` in RFC 5952 spelling; IPvFuture and zone IDs are refused.
fn canonical_ip_literal(literal: &str) -> Result<Cow<'_, str>, HostError> {
    let inner = literal
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .ok_or(HostError::BadIpLiteral)?;
    let addr: Ipv6Addr = inner.parse().map_err(|_| HostError::BadIpLiteral)?;
    let canonical = format!("[{addr}]");
    if canonical == literal {
        Ok(Cow::Borrowed(literal))
    } else {
        Ok(Cow::Owned(canonical))
    }
}

/// A reg-name (or IPv4 address): validated, trailing dot removed, lower-cased.
fn canonical_reg_name(host: &str) -> Result<Cow<'_, str>, HostError> {
    let mut has_upper = false;
    for byte in host.bytes() {
        match byte {
            b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {}
            b'A'..=b'Z' => has_upper = true,
            _ => return Err(HostError::InvalidByte { byte }),
        }
    }
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.len() > MAX_HOST_LEN {
        return Err(HostError::TooLong { len: host.len() });
    }
    if host.split('.').any(str::is_empty) {
        return Err(HostError::EmptyLabel);
    }
    if ends_in_number(host) && !is_canonical_ipv4(host) {
        return Err(HostError::BadIpv4);
    }
    if has_upper {
        Ok(Cow::Owned(host.to_ascii_lowercase()))
    } else {
        Ok(Cow::Borrowed(host))
    }
}

/// WHATWG URL "ends in a number": the last label is all digits, or `0x`/`0X` then hex digits.
fn ends_in_number(host: &str) -> bool {
    let last = host.rsplit('.').next().unwrap_or(host);
    if !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    last.strip_prefix("0x")
        .or_else(|| last.strip_prefix("0X"))
        .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Dotted-decimal IPv4 with four parts and no leading zeros (what std's parser accepts), and
/// spelled exactly as it displays.
fn is_canonical_ipv4(host: &str) -> bool {
    host.parse::<Ipv4Addr>()
        .is_ok_and(|addr| addr.to_string() == host)
}

#[cfg(test)]
mod tests;
