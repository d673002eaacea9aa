//! Request-target splitting and path canonicalization.
//!
//! Every routing or auth decision, the ext-auth check request and the upstream request use the
//! *same* canonical path computed here (SECURITY.md rule 1). Almost every path bypass in gateways
//! has been a differential: the gateway matched one spelling while the backend resolved another.
//! So this module computes one canonical spelling, and refuses (HTTP 400, or 414 for length)
//! whatever it cannot canonicalize unambiguously. Rejecting is always an acceptable answer.
//!
//! # Pipeline
//!
//! [`split_target`] splits the raw request-target (RFC 9112 §3.2) into its form and validates
//! every byte. [`normalize_path`] then runs SECURITY.md rule 2, in this order:
//!
//! 1. **Validate bytes.** CTL (`0x00..=0x1F`), SP, DEL and bytes `>= 0x80` are refused
//!    ([`TargetError::InvalidByte`]); `#` is refused as [`TargetError::Fragment`]. A fragment is
//!    never sent by a conforming client, and forwarding it (Envoy re-encoded it as `%23`)
//!    bypassed path DENY rules: Envoy CVE-2021-32779, Istio CVE-2021-39156, HAProxy
//!    CVE-2023-45539. A raw `?` inside a path given to [`normalize_path`] is refused too: the
//!    query is split off first, and a `?` left in the path would be read as a query delimiter by
//!    the backend. An origin-form path must start with `/` ([`TargetError::NotOriginForm`]);
//!    HAProxy forwarded `GET admin` and the backend prepended the `/` (haproxy/haproxy#2565).
//!    Other printable ASCII that RFC 3986 does not allow raw (`"`, `<`, `>`, `^`, `` ` ``, `{`,
//!    `|`, `}`, `[`, `]`) is passed through unchanged: browsers send some of them raw and they
//!    carry no path structure, so they cannot create a differential.
//! 2. **Reject malformed `%`**: a `%` not followed by two hex digits
//!    ([`TargetError::MalformedPercent`]); decoders disagree on what such a sequence means.
//! 3. **Decode once, upper-case the rest.** Percent-encoded unreserved characters
//!    (`ALPHA / DIGIT / "-" / "." / "_" / "~"`, RFC 3986 §2.3) are decoded, exactly once
//!    (`%252E` stays `%252E`); the hex digits of every other escape are upper-cased (RFC 3986
//!    §6.2.2.1 and §6.2.2.2). Decoding `%2E` happens *before* dot-segment removal, so
//!    `/a/%2e%2e/b` is `/a/../b`, which is `/b` (Envoy CVE-2019-9901 class).
//! 4. **Encoded slashes** (`%2F`, `%5C`) follow [`PathPolicy::encoded_slashes`]: refused by
//!    default ([`TargetError::EncodedSlash`]); `Keep` leaves them as `%2F`/`%5C`, ordinary
//!    segment characters and never separators; `Decode` turns them into `/` and `\` before
//!    dot-segment removal (a decoded `\` then follows step 5). `%2F`/`%5C` bypassed DENY rules on
//!    `/admin` in Istio CVE-2021-31920 / Envoy CVE-2021-29492; the default refuses them rather
//!    than decoding because unescaping breaks applications that need a literal `%2F` in a segment
//!    (envoyproxy/gateway#7084). `%00` is always refused ([`TargetError::EncodedNul`]): C
//!    backends truncate at NUL.
//! 5. **Raw backslash** follows [`PathPolicy::backslashes`]: refused by default
//!    ([`TargetError::Backslash`]) or folded to `/`. IIS and Windows backends treat `\` as a
//!    separator, so `/admin\x` can mean `/admin/x` to them.
//! 6. **Path parameters** (a raw `;`, Servlet's `/admin;jsessionid=x`) follow
//!    [`PathPolicy::path_parameters`]: refused by default ([`TargetError::PathParameter`]);
//!    `Strip` removes each from its `;` to the end of its segment, before dot-segment removal,
//!    as Servlet containers do (`/a/..;x/b` is then `/b`); `Keep` leaves `;` as an ordinary
//!    character. Servlet-style backends read `/admin;x` as `/admin`, so a router that keeps it
//!    lets it past a rule written for `/admin` into a broader one (the path-parameter auth
//!    bypasses of Java web stacks). `%3B` is data under every choice.
//! 7. **Remove dot segments** (RFC 3986 §5.2.4). `..` at the root clamps at the root and never
//!    escapes it. A trailing slash is preserved (`/a/b/` stays, `/a/b/..` is `/a/`, `/a/.` is
//!    `/a/`). Hardening: a segment that is `.;anything` or `..;anything` (also with `;` spelled
//!    `%3B`) is refused ([`TargetError::PathParameterDotSegment`]): Servlet containers strip path
//!    parameters before resolving dot segments, so Tomcat reads `/public/..;x/admin` as `/admin`
//!    while a plain RFC 3986 normalizer keeps it under `/public`.
//! 8. **Merge slashes** when [`PathPolicy::merge_slashes`] is on (default): runs of `/` become
//!    one `/`, so `//admin` cannot skip a rule written for `/admin` (HAProxy haproxy/haproxy#2785;
//!    the nginx `merge_slashes` rationale). As in SECURITY.md (and Envoy, which merges after
//!    normalizing), merging happens *after* dot-segment removal, so `/a/x//../b` is `/a/x/b`: the
//!    `..` removes the empty segment, as RFC 3986 says. That is safe because the canonical path,
//!    not the raw one, is what gets matched *and* forwarded.
//!
//! The query is never normalized, only byte-validated with the rules of step 1.
//!
//! When an input has several problems, the error reported is the first one found scanning left
//! to right (after the length check, which comes first). Every error except
//! [`TargetError::TooLong`] (414) maps to 400, so the order only affects the message.
//!
//! # Guarantees
//!
//! For every input and policy, an `Ok` result of [`normalize_path`] starts with `/`; contains no
//! `;` unless `path_parameters` is `Keep`; contains no
//! `/./` or `/../` segment and does not end in `/.` or `/..`; contains no `//` when
//! `merge_slashes` is on; contains no lower-case hex escape, no escape of an unreserved character,
//! no `%00`, and no `%2F`/`%5C` unless `encoded_slashes` is `Keep`; and is a fixed point
//! (normalizing it again returns it unchanged, borrowed). Re-spelling a canonical path
//! (percent-encoding unreserved characters, changing hex case, inserting `./` or `x/../`,
//! doubling separators when merging) normalizes back to the same path.
//!
//! # Cost
//!
//! Linear in the path length. An already canonical path (the common case) is checked in one scan
//! and returned as [`Cow::Borrowed`] without allocating; otherwise the canonical prefix is copied
//! and the rest rewritten in a second pass into one pre-sized `String`.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::borrow::Cow;
use std::fmt;

/// Default limit on the request-target length in bytes (SECURITY.md "Default limits": 8 KiB).
pub const DEFAULT_MAX_TARGET_LEN: usize = 8192;

/// Default for [`PathPolicy::max_header_fields`]: 100 header fields.
pub const DEFAULT_MAX_HEADER_FIELDS: usize = 100;

/// Default for [`PathPolicy::max_header_bytes`]: a 64 KiB header section.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 64 * 1024;

/// Default for [`PathPolicy::max_query_pairs`]: 1,000 `&`-separated query pairs.
pub const DEFAULT_MAX_QUERY_PAIRS: usize = 1000;

/// What to do with an encoded slash (`%2F`) or backslash (`%5C`) in a path.
///
/// Encoded separators are the classic path-rule bypass (Istio CVE-2021-31920): a rule on
/// `/admin/` does not see `/admin%2Fx`, while a backend that decodes it does.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EncodedSlashes {
    /// Refuse the request with [`TargetError::EncodedSlash`] (400). The secure default.
    #[default]
    Reject,
    /// Keep `%2F`/`%5C` (upper-cased) as ordinary segment characters, never as separators.
    ///
    /// For applications that need a literal slash inside a segment (envoyproxy/gateway#7084).
    /// Only safe when the backend does not decode them into separators either.
    Keep,
    /// Decode to `/` (a separator) and `\` (then subject to [`Backslashes`]) before dot-segment
    /// removal, so the backend sees the same structure the gateway matched.
    Decode,
}

/// What to do with a raw `\` in a path.
///
/// Windows/IIS backends treat `\` as a path separator; a gateway that does not would match a
/// different path than the one served.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backslashes {
    /// Refuse the request with [`TargetError::Backslash`] (400). The secure default.
    #[default]
    Reject,
    /// Treat `\` as `/` (before dot-segment removal), as Windows backends do.
    Fold,
}

/// What to do with a raw `;` in a path: a Servlet-style path parameter (`/admin;jsessionid=x`).
///
/// Servlet containers (Tomcat, Jetty) strip path parameters before resolving the path, so
/// `/admin;x` is `/admin` to them, while a router that keeps the `;` matches `/admin;x` against
/// other rules (a `/` prefix, say) and lets it past a rule written for `/admin`. An encoded
/// `%3B` is data, not a parameter, under every choice.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PathParameters {
    /// Refuse the request with [`TargetError::PathParameter`] (400). The secure default: no
    /// backend can read the path differently, and nothing the client sent is dropped.
    #[default]
    Reject,
    /// Remove each segment's parameters (from `;` to the end of the segment) before matching
    /// and forwarding, as Servlet containers do: the rule that matches is the one for the path
    /// the backend serves, and the backend never sees the parameters.
    Strip,
    /// Keep `;` as an ordinary segment character. Only safe when no backend strips path
    /// parameters (`gateway lint` lists the rules such a request could slip past).
    Keep,
}

/// What to do with a method that spells one of the nine `HTTPMethod` methods of Gateway API in
/// another case (`post`, `Get`).
///
/// Methods are case-sensitive (RFC 9110 §9.1), so `post` does not match a rule for `POST` and
/// falls to a broader rule, while many backend frameworks upper-case the method and run the
/// write.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MethodCase {
    /// Refuse it with 400 ([`BadRequest::MethodCaseVariant`](crate::outcome::BadRequest)). The
    /// secure default.
    #[default]
    Reject,
    /// Route it as the distinct method it is (it matches no rule for the upper-case method).
    Allow,
}

/// How request paths are canonicalized; [`PathPolicy::default`] is the secure choice.
///
/// The struct is `#[non_exhaustive]`: start from [`PathPolicy::secure`] and assign the public
/// fields that should differ.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathPolicy {
    /// Merge runs of `/` into one `/` after dot-segment removal (default `true`).
    pub merge_slashes: bool,
    /// Handling of `%2F` and `%5C` (default [`EncodedSlashes::Reject`]).
    pub encoded_slashes: EncodedSlashes,
    /// Handling of a raw `\` (default [`Backslashes::Reject`]).
    pub backslashes: Backslashes,
    /// Longest accepted request-target (or path) in bytes; longer is refused with 414, never
    /// truncated (default [`DEFAULT_MAX_TARGET_LEN`], 8 KiB).
    pub max_target_len: usize,
    /// Most header fields a routed request may carry; more is refused with 431 before any
    /// header is read (default [`DEFAULT_MAX_HEADER_FIELDS`], 100).
    pub max_header_fields: usize,
    /// Largest header section ([`Headers::section_len`](super::Headers::section_len)); larger
    /// is refused with 431 (default [`DEFAULT_MAX_HEADER_BYTES`], 64 KiB).
    pub max_header_bytes: usize,
    /// Most `&`-separated pairs in the query; more is refused with 400 (default
    /// [`DEFAULT_MAX_QUERY_PAIRS`], 1,000).
    pub max_query_pairs: usize,
    /// Handling of a raw `;` in a path (default [`PathParameters::Reject`]).
    pub path_parameters: PathParameters,
    /// Handling of a method that is one of the nine `HTTPMethod` methods in another case
    /// (default [`MethodCase::Reject`]).
    pub method_case: MethodCase,
}

impl PathPolicy {
    /// The secure default: merge slashes, refuse encoded slashes, backslashes, path parameters
    /// and case variants of the standard methods; an 8 KiB target, 100 header fields, a 64 KiB
    /// header section and 1,000 query pairs at most.
    #[must_use]
    pub const fn secure() -> Self {
        Self {
            merge_slashes: true,
            encoded_slashes: EncodedSlashes::Reject,
            backslashes: Backslashes::Reject,
            max_target_len: DEFAULT_MAX_TARGET_LEN,
            max_header_fields: DEFAULT_MAX_HEADER_FIELDS,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            max_query_pairs: DEFAULT_MAX_QUERY_PAIRS,
            path_parameters: PathParameters::Reject,
            method_case: MethodCase::Reject,
        }
    }
}

impl Default for PathPolicy {
    /// Same as [`PathPolicy::secure`].
    fn default() -> Self {
        Self::secure()
    }
}

/// Why a request target is refused; each maps to an HTTP status (see [`TargetError::status`]).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetError {
    /// The target (or path) is longer than the configured limit (414, never truncated).
    TooLong {
        /// Length of the input in bytes.
        len: usize,
        /// The configured limit.
        max: usize,
    },
    /// The target or path is empty.
    Empty,
    /// The target is in no form of RFC 9112 §3.2, or a path does not start with `/`.
    NotOriginForm,
    /// A byte that may not appear in a request target (CTL, SP, DEL, non-ASCII; `?` in a path).
    InvalidByte {
        /// The offending byte.
        byte: u8,
        /// Its offset in the input given to the function that refused it.
        offset: usize,
    },
    /// The target contains `#`: fragments are never sent and forwarding them bypassed rules.
    Fragment,
    /// A `%` not followed by two hex digits.
    MalformedPercent {
        /// Offset of the `%` in the path.
        offset: usize,
    },
    /// `%2F` or `%5C` under [`EncodedSlashes::Reject`].
    EncodedSlash,
    /// `%00` (always refused).
    EncodedNul,
    /// A raw `\` (or a decoded `%5C`) under [`Backslashes::Reject`].
    Backslash,
    /// A `.;x` or `..;x` segment (Servlet path-parameter dot segment).
    PathParameterDotSegment,
    /// A raw `;` in the path under [`PathParameters::Reject`].
    PathParameter {
        /// Offset of the `;` in the path.
        offset: usize,
    },
}

impl TargetError {
    /// The HTTP status to answer with: 414 (URI Too Long) for [`TargetError::TooLong`], else 400.
    #[must_use]
    pub const fn status(&self) -> u16 {
        match self {
            Self::TooLong { .. } => 414,
            _ => 400,
        }
    }
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong { len, max } => {
                write!(
                    f,
                    "request target is {len} bytes, longer than the limit of {max}"
                )
            }
            Self::Empty => f.write_str("request target is empty"),
            Self::NotOriginForm => f.write_str("request target is not in a recognized form"),
            Self::InvalidByte { byte, offset } => {
                write!(
                    f,
                    "invalid byte 0x{byte:02x} in request target at offset {offset}"
                )
            }
            Self::Fragment => f.write_str("request target contains a fragment ('#')"),
            Self::MalformedPercent { offset } => {
                write!(f, "malformed percent-encoding at offset {offset}")
            }
            Self::EncodedSlash => f.write_str("path contains an encoded slash or backslash"),
            Self::EncodedNul => f.write_str("path contains an encoded nul (%00)"),
            Self::Backslash => f.write_str("path contains a backslash"),
            Self::PathParameterDotSegment => {
                f.write_str("path contains a dot segment with path parameters")
            }
            Self::PathParameter { offset } => write!(
                f,
                "path contains a path parameter (';' at offset {offset}); the path policy refuses them"
            ),
        }
    }
}

impl std::error::Error for TargetError {}

/// A request-target split into its parts (RFC 9112 §3.2).
///
/// Origin-form (`/path?q`), absolute-form (`http://host/path?q`), authority-form (`host:port`,
/// for CONNECT) and asterisk-form (`*`, for server-wide OPTIONS). [`split_target`] does not know
/// the method: the caller must accept `Authority` only for CONNECT and `Asterisk` only for
/// OPTIONS.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetForm<'a> {
    /// `absolute-path [ "?" query ]`; `path` starts with `/` and is not yet normalized.
    Origin {
        /// The path, before normalization.
        path: &'a str,
        /// The query without its `?`, if a `?` was present (possibly empty).
        query: Option<&'a str>,
    },
    /// `scheme "://" authority path-abempty [ "?" query ]`, as sent to proxies.
    Absolute {
        /// The scheme as sent (compare case-insensitively).
        scheme: &'a str,
        /// The raw authority (canonicalize with `crate::request::authority::canonical_host`).
        authority: &'a str,
        /// The path, before normalization; `/` when the target had an empty path.
        path: &'a str,
        /// The query without its `?`, if a `?` was present (possibly empty).
        query: Option<&'a str>,
    },
    /// `host:port`, the CONNECT form; the raw authority.
    Authority(&'a str),
    /// `*`, the server-wide OPTIONS form.
    Asterisk,
}

/// Splits a raw request-target into its form, refusing any byte a target may not contain.
///
/// Applies the default length limit [`DEFAULT_MAX_TARGET_LEN`]; use [`split_target_with`] for a
/// configured one. The path is returned as sent; pass it to [`normalize_path`].
///
/// # Errors
///
/// [`TargetError::TooLong`] over 8 KiB, [`TargetError::Empty`], [`TargetError::Fragment`] for
/// `#`, [`TargetError::InvalidByte`] for CTL/SP/DEL/non-ASCII, and [`TargetError::NotOriginForm`]
/// when the target is in none of the four forms (for example `admin` or `mailto:x`).
///
/// # Examples
///
/// ```
/// # use gateway_core::request::normalize::{split_target, TargetForm};
/// assert_eq!(
///     split_target(b"/a/b?x=1"),
///     Ok(TargetForm::Origin { path: "/a/b", query: Some("x=1") })
/// );
/// ```
pub fn split_target(raw: &[u8]) -> Result<TargetForm<'_>, TargetError> {
    split_target_with(raw, &PathPolicy::secure())
}

/// Like [`split_target`], with the length limit taken from `policy.max_target_len`.
///
/// # Errors
///
/// As [`split_target`].
pub fn split_target_with<'a>(
    raw: &'a [u8],
    policy: &PathPolicy,
) -> Result<TargetForm<'a>, TargetError> {
    if raw.len() > policy.max_target_len {
        return Err(TargetError::TooLong {
            len: raw.len(),
            max: policy.max_target_len,
        });
    }
    if raw.is_empty() {
        return Err(TargetError::Empty);
    }
    let query_at = validate_target_bytes(raw)?;
    // Every byte is ASCII now, so this cannot fail; map the impossible error anyway.
    let target = std::str::from_utf8(raw).map_err(|e| {
        let offset = e.valid_up_to();
        TargetError::InvalidByte {
            byte: raw.get(offset).copied().unwrap_or(0),
            offset,
        }
    })?;

    if target == "*" {
        return Ok(TargetForm::Asterisk);
    }
    if target.starts_with('/') {
        // The query starts at the first `?`, found by the byte scan above.
        let (path, query) = match query_at {
            Some(q) => (target.get(..q).unwrap_or(target), target.get(q + 1..)),
            None => (target, None),
        };
        return Ok(TargetForm::Origin { path, query });
    }
    if let Some((scheme, rest)) = target.split_once("://")
        && is_scheme(scheme)
    {
        let (before_query, query) = split_query(rest);
        let (authority, path) = match before_query.find('/') {
            Some(slash) => before_query.split_at(slash),
            // RFC 9112 §3.2.1: an empty path in absolute-form means "/".
            None => (before_query, "/"),
        };
        return Ok(TargetForm::Absolute {
            scheme,
            authority,
            path,
            query,
        });
    }
    if is_authority_form(target) {
        return Ok(TargetForm::Authority(target));
    }
    Err(TargetError::NotOriginForm)
}

/// Returns the canonical form of a path (no query), per the module's pipeline.
///
/// Returns [`Cow::Borrowed`] when `path` is already canonical (the common case, no allocation).
/// Linear in `path.len()`.
///
/// # Errors
///
/// [`TargetError::TooLong`] over `policy.max_target_len`, [`TargetError::Empty`],
/// [`TargetError::NotOriginForm`] when the path does not start with `/`, and the byte,
/// percent-encoding, slash, backslash and dot-segment errors described in the module docs.
///
/// # Examples
///
/// ```
/// # use gateway_core::request::normalize::{normalize_path, PathPolicy, TargetError};
/// let policy = PathPolicy::secure();
/// assert_eq!(normalize_path("/a/%2e%2e/b//c/", &policy).as_deref(), Ok("/b/c/"));
/// assert_eq!(normalize_path("/a%2Fb", &policy), Err(TargetError::EncodedSlash));
/// ```
pub fn normalize_path<'a>(path: &'a str, policy: &PathPolicy) -> Result<Cow<'a, str>, TargetError> {
    check_path_shape(path, policy)?;
    match first_non_canonical(path.as_bytes(), policy) {
        None => Ok(Cow::Borrowed(path)),
        Some(resume) => rewrite(path, resume, policy).map(Cow::Owned),
    }
}

/// True when `path` is already canonical under `policy`: exactly when [`normalize_path`] would
/// return it unchanged as [`Cow::Borrowed`]. One scan, no allocation.
#[must_use]
pub fn is_canonical(path: &str, policy: &PathPolicy) -> bool {
    check_path_shape(path, policy).is_ok() && first_non_canonical(path.as_bytes(), policy).is_none()
}

/// An origin-form target that is already canonical under its policy, split in one pass:
/// what [`split_target_with`] then [`normalize_path`] would return, without the second scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CanonicalOrigin<'a> {
    /// The path, canonical as received.
    pub(crate) path: &'a str,
    /// The query without its `?`, if a `?` was present.
    pub(crate) query: Option<&'a str>,
    /// How many `&` the query holds.
    pub(crate) ampersands: usize,
    /// Where the path's `/`-boundary prefixes end.
    pub(crate) segments: Segments,
}

/// Query bytes that need no further look: everything printable but `#` and `&`.
// Evaluated at compile time: an out-of-bounds index would be a build error, not a panic.
#[allow(clippy::indexing_slicing)]
const QUERY_PLAIN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0x21; // everything below (CTL, SP) is forbidden
    while b < 0x7F {
        table[b] = !matches!(b as u8, b'#' | b'&');
        b += 1;
    }
    table
};

/// The common case of [`split_target_with`] and [`normalize_path`] in one pass: an origin-form
/// target within the length limit whose path has no escape, backslash, empty segment or
/// segment starting with `.`, and whose query has no forbidden byte or `#`. Such a path is
/// canonical under every policy. Anything else returns `None`: the general pipeline decides,
/// and either rewrites the target or refuses it.
///
/// `text` is `raw` as text when the caller has it so (then `raw` is not checked as UTF-8 again).
pub(crate) fn canonical_origin<'a>(
    raw: &'a [u8],
    text: Option<&'a str>,
    policy: &PathPolicy,
) -> Option<CanonicalOrigin<'a>> {
    if raw.len() > policy.max_target_len || raw.first() != Some(&b'/') {
        return None;
    }
    let mut segments = Segments::default();
    // One look per byte. After a `/`, `/` (an empty segment) or `.` (maybe a dot segment)
    // take the general way.
    let dot_or_slash = |b: Option<&u8>| matches!(b, Some(b'/' | b'.'));
    if dot_or_slash(raw.get(1)) {
        return None;
    }
    let mut i = 1;
    let path_end = loop {
        match raw.get(i) {
            Some(&b) if PLAIN.get(usize::from(b)).copied().unwrap_or(false) => i += 1,
            Some(b'/') => {
                if dot_or_slash(raw.get(i + 1)) {
                    return None;
                }
                segments.push(i);
                i += 1;
            }
            Some(b'?') => break i,
            None => break raw.len(),
            // An escape, a backslash, a fragment or a forbidden byte.
            Some(_) => return None,
        }
    };
    let mut ampersands = 0;
    for &b in raw.get(path_end + 1..).unwrap_or_default() {
        if !QUERY_PLAIN.get(usize::from(b)).copied().unwrap_or(false) {
            if b != b'&' {
                return None;
            }
            ampersands += 1;
        }
    }
    // Every byte is ASCII now: `path_end` is a character boundary.
    let target = match text {
        Some(text) => text,
        None => std::str::from_utf8(raw).ok()?,
    };
    let path = target.get(..path_end)?;
    let query = target.get(path_end + 1..);
    segments.finish(path);
    Some(CanonicalOrigin {
        path,
        query,
        ampersands,
        segments,
    })
}

/// Where the `/`-boundary prefixes of a canonical path end, for the PathPrefix walk
/// (element-wise matching: `/a/b/c` is under `/a/b`, `/a` and `/`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Segments {
    /// Offsets of the `/`s after the leading one, as far as they fit; 0 marks one that did not.
    ends: [u16; 15],
    /// `/`s seen, then (after `finish`) the path's depth in segments.
    depth: usize,
}

impl Segments {
    /// The segments of `path`, which must be canonical (it starts with `/`).
    pub(crate) fn of(path: &str) -> Self {
        let mut segments = Self::default();
        for (i, b) in path.bytes().enumerate().skip(1) {
            if b == b'/' {
                segments.push(i);
            }
        }
        segments.finish(path);
        segments
    }

    fn push(&mut self, offset: usize) {
        if let Some(end) = self.ends.get_mut(self.depth) {
            *end = u16::try_from(offset).unwrap_or(0);
        }
        self.depth += 1;
    }

    /// Sets the depth: the leading `/` counts, a trailing one does not, and `/` has none.
    fn finish(&mut self, path: &str) {
        if path.len() > 1 {
            self.depth += 1;
            if path.ends_with('/') {
                self.depth -= 1;
            }
        } else {
            self.depth = 0;
        }
    }

    /// How many segments the path has, not counting a trailing `/`: `/a/b/` has 2, `/` none.
    pub(crate) fn depth(&self) -> usize {
        self.depth
    }

    /// The first `n` segments of `path` (`1 <= n < depth`), without a trailing `/`.
    pub(crate) fn prefix<'p>(&self, path: &'p str, n: usize) -> Option<&'p str> {
        let recorded = self
            .ends
            .get(n.checked_sub(1)?)
            .map(|&end| usize::from(end))
            .filter(|&end| end != 0);
        let end = match recorded {
            Some(end) => end,
            // Deeper than recorded: find the (n+1)-th `/`.
            None => path.match_indices('/').nth(n)?.0,
        };
        path.get(..end)
    }
}

// === helpers ===

/// Length, emptiness and leading-`/` checks shared by [`normalize_path`] and [`is_canonical`].
fn check_path_shape(path: &str, policy: &PathPolicy) -> Result<(), TargetError> {
    if path.len() > policy.max_target_len {
        return Err(TargetError::TooLong {
            len: path.len(),
            max: policy.max_target_len,
        });
    }
    if path.is_empty() {
        return Err(TargetError::Empty);
    }
    if !path.starts_with('/') {
        return Err(TargetError::NotOriginForm);
    }
    Ok(())
}

/// A byte that may never appear raw in a request target: CTL, SP, DEL, or non-ASCII.
const fn is_forbidden_byte(b: u8) -> bool {
    b <= b' ' || b >= 0x7F
}

/// Refuses `#` and forbidden bytes anywhere in the target, first by position.
/// Checks every byte (no fragment, no forbidden byte) and returns the offset of the first `?`,
/// in one pass: most ordinary bytes cost two comparisons each.
fn validate_target_bytes(raw: &[u8]) -> Result<Option<usize>, TargetError> {
    let mut query_at = None;
    for (offset, &byte) in raw.iter().enumerate() {
        // `$` to `~` except `?`: neither `#`, `?` nor forbidden (`!` and `"` take the long way).
        if (b'$'..=b'~').contains(&byte) && byte != b'?' {
            continue;
        }
        if byte == b'#' {
            return Err(TargetError::Fragment);
        }
        if is_forbidden_byte(byte) {
            return Err(TargetError::InvalidByte { byte, offset });
        }
        if query_at.is_none() {
            query_at = Some(offset);
        }
    }
    Ok(query_at)
}

/// Splits at the first `?`: `(before, Some(after))` or `(all, None)`.
fn split_query(s: &str) -> (&str, Option<&str>) {
    match s.split_once('?') {
        Some((before, after)) => (before, Some(after)),
        None => (s, None),
    }
}

/// RFC 3986 §3.1: `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
fn is_scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// RFC 9112 §3.2.3 shape: `uri-host ":" port`, with a non-empty host and a non-empty all-digit
/// port, and no `/` or `?`. The host itself is validated later by the authority module.
fn is_authority_form(s: &str) -> bool {
    if s.contains(['/', '?']) {
        return false;
    }
    match s.rsplit_once(':') {
        Some((host, port)) => {
            !host.is_empty() && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

/// RFC 3986 §2.3 unreserved characters, the only ones whose escapes are decoded.
const fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Value of a hex digit of either case.
const fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Upper-case hex digit for a nibble (only the low four bits are used).
const fn hex_digit(nibble: u8) -> char {
    let n = nibble & 0x0F;
    if n < 10 {
        (b'0' + n) as char
    } else {
        (b'A' + n - 10) as char
    }
}

/// True for an upper-case hex digit, the canonical spelling.
const fn is_upper_hex(b: u8) -> bool {
    matches!(b, b'0'..=b'9' | b'A'..=b'F')
}

/// A segment that is `.;x` or `..;x` (also with `;` spelled `%3B`) after decoding.
fn is_parameter_dot_segment(segment: &[u8]) -> bool {
    let rest = segment
        .strip_prefix(b"..")
        .or_else(|| segment.strip_prefix(b"."));
    rest.is_some_and(|rest| rest.starts_with(b";") || rest.starts_with(b"%3B"))
}

/// Bytes copied through unchanged: everything except separators (`/`, `\\`), `%`, `#`, `?`,
/// the path-parameter delimiter `;` and forbidden bytes. A table so the hot loops can skip
/// runs of them.
// Evaluated at compile time: an out-of-bounds index would be a build error, not a panic.
#[allow(clippy::indexing_slicing)]
const PLAIN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0x21; // everything below (CTL, SP) is forbidden
    while b < 0x7F {
        table[b] = !matches!(b as u8, b'/' | b'\\' | b'%' | b'#' | b'?' | b';');
        b += 1;
    }
    table
};

/// Length of the run of [`PLAIN`] bytes at the start of `bytes`.
fn plain_run(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .position(|&b| !PLAIN.get(usize::from(b)).copied().unwrap_or(false))
        .unwrap_or(bytes.len())
}

/// Scans for the first spot where `path` differs from its canonical form (or is invalid).
///
/// Returns `None` when `path` is canonical, else the offset of the `/` that starts the segment
/// where the difference was found: everything before it is canonical, complete segments, so the
/// rewrite can copy it and resume there. `path` must start with `/`.
fn first_non_canonical(bytes: &[u8], policy: &PathPolicy) -> Option<usize> {
    let mut seg_start = 0;
    let mut i = 1;
    loop {
        i += plain_run(bytes.get(i..).unwrap_or_default());
        match bytes.get(i) {
            None => {
                let segment = bytes.get(seg_start + 1..).unwrap_or_default();
                return segment_needs_rewrite(segment, true, policy).then_some(seg_start);
            }
            Some(b'/') => {
                let segment = bytes.get(seg_start + 1..i).unwrap_or_default();
                if segment_needs_rewrite(segment, false, policy) {
                    return Some(seg_start);
                }
                seg_start = i;
                i += 1;
            }
            Some(b'%') => {
                let hi = bytes.get(i + 1).copied().unwrap_or(0);
                let lo = bytes.get(i + 2).copied().unwrap_or(0);
                if !(is_upper_hex(hi) && is_upper_hex(lo)) {
                    return Some(seg_start);
                }
                let value = (hex_value(hi).unwrap_or(0) << 4) | hex_value(lo).unwrap_or(0);
                let slash = matches!(value, b'/' | b'\\');
                if value == 0
                    || is_unreserved(value)
                    || (slash && policy.encoded_slashes != EncodedSlashes::Keep)
                {
                    return Some(seg_start);
                }
                i += 3;
            }
            Some(b';') if policy.path_parameters == PathParameters::Keep => i += 1,
            // `;` (refused or stripped), `\`, `#`, `?` or a forbidden byte: rewritten or refused.
            Some(_) => return Some(seg_start),
        }
    }
}

/// Whether a raw (already scanned) segment would be changed or refused by the rewrite.
fn segment_needs_rewrite(segment: &[u8], last: bool, policy: &PathPolicy) -> bool {
    match segment.first() {
        None => !last && policy.merge_slashes,
        Some(b'.') => segment_is_dot_like(segment),
        Some(_) => false,
    }
}

/// A segment that is `.`, `..`, or a path-parameter dot segment.
fn segment_is_dot_like(segment: &[u8]) -> bool {
    segment == b"." || segment == b".." || is_parameter_dot_segment(segment)
}

/// Rewrites `path` into its canonical form, resuming at `resume` (the `/` starting the first
/// non-canonical segment; `path[..resume]` is copied as is).
///
/// The output buffer holds the segments kept so far, each as `/segment`; a segment is appended
/// byte by byte (decoded), then examined when its end is reached: `.` is dropped, `..` drops it
/// and the previous one, and the last segment being a dot segment leaves a trailing `/`.
fn rewrite(path: &str, resume: usize, policy: &PathPolicy) -> Result<String, TargetError> {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    out.push_str(path.get(..resume).unwrap_or_default());
    let mut seg_start = out.len();
    out.push('/');
    let mut i = resume + 1;
    loop {
        let run = plain_run(bytes.get(i..).unwrap_or_default());
        out.push_str(path.get(i..i + run).unwrap_or_default());
        i += run;
        let Some(&b) = bytes.get(i) else { break };
        match b {
            b'/' => {
                next_segment(&mut out, &mut seg_start)?;
                i += 1;
            }
            b'%' => {
                let hi = bytes.get(i + 1).copied().and_then(hex_value);
                let lo = bytes.get(i + 2).copied().and_then(hex_value);
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    return Err(TargetError::MalformedPercent { offset: i });
                };
                let value = (hi << 4) | lo;
                match value {
                    0 => return Err(TargetError::EncodedNul),
                    b'/' | b'\\' => match policy.encoded_slashes {
                        EncodedSlashes::Reject => return Err(TargetError::EncodedSlash),
                        EncodedSlashes::Keep => push_escape(&mut out, value),
                        EncodedSlashes::Decode if value == b'/' => {
                            next_segment(&mut out, &mut seg_start)?;
                        }
                        EncodedSlashes::Decode => backslash(&mut out, &mut seg_start, policy)?,
                    },
                    _ if is_unreserved(value) => out.push(char::from(value)),
                    _ => push_escape(&mut out, value),
                }
                i += 3;
            }
            b'\\' => {
                backslash(&mut out, &mut seg_start, policy)?;
                i += 1;
            }
            b';' => match policy.path_parameters {
                PathParameters::Reject => return Err(TargetError::PathParameter { offset: i }),
                PathParameters::Keep => {
                    out.push(';');
                    i += 1;
                }
                PathParameters::Strip => i = skip_parameter(bytes, i, policy)?,
            },
            b'#' => return Err(TargetError::Fragment),
            // `?` (the query was split off before) or a forbidden byte.
            _ => return Err(TargetError::InvalidByte { byte: b, offset: i }),
        }
    }
    end_segment(&mut out, seg_start, true)?;
    if policy.merge_slashes && out.contains("//") {
        out = merge_slashes(out);
    }
    Ok(out)
}

/// Where the path parameter starting at the `;` at `start` ends: the next raw `/`, or the
/// next byte the path policy reads as a separator (a `\\` under [`Backslashes::Fold`], a
/// `%2F`/`%5C` under [`EncodedSlashes::Decode`]), or the end. The skipped bytes are checked as
/// the rest of the path is: a parameter cannot smuggle what the path may not hold.
fn skip_parameter(bytes: &[u8], start: usize, policy: &PathPolicy) -> Result<usize, TargetError> {
    let mut i = start + 1;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'/' => break,
            b'\\' => match policy.backslashes {
                Backslashes::Reject => return Err(TargetError::Backslash),
                Backslashes::Fold => break,
            },
            b'%' => {
                let hi = bytes.get(i + 1).copied().and_then(hex_value);
                let lo = bytes.get(i + 2).copied().and_then(hex_value);
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    return Err(TargetError::MalformedPercent { offset: i });
                };
                match (hi << 4) | lo {
                    0 => return Err(TargetError::EncodedNul),
                    b'/' | b'\\' => match policy.encoded_slashes {
                        EncodedSlashes::Reject => return Err(TargetError::EncodedSlash),
                        EncodedSlashes::Keep => {}
                        EncodedSlashes::Decode => break,
                    },
                    _ => {}
                }
                i += 3;
            }
            b'#' => return Err(TargetError::Fragment),
            _ if is_forbidden_byte(b) || b == b'?' => {
                return Err(TargetError::InvalidByte { byte: b, offset: i });
            }
            _ => i += 1,
        }
    }
    Ok(i)
}

/// Collapses runs of `/` into one (after dot-segment removal); a trailing `/` stays.
fn merge_slashes(path: String) -> String {
    let mut bytes = path.into_bytes();
    bytes.dedup_by(|a, b| *a == b'/' && *b == b'/');
    // Removing ASCII bytes keeps UTF-8 valid (and the path is ASCII anyway), so the fallback
    // never runs; it exists to avoid an `unwrap`.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Ends the current segment at a separator and starts the next one.
fn next_segment(out: &mut String, seg_start: &mut usize) -> Result<(), TargetError> {
    end_segment(out, *seg_start, false)?;
    *seg_start = out.len();
    out.push('/');
    Ok(())
}

/// A raw or decoded `\`: refused, or a separator, per [`PathPolicy::backslashes`].
fn backslash(
    out: &mut String,
    seg_start: &mut usize,
    policy: &PathPolicy,
) -> Result<(), TargetError> {
    match policy.backslashes {
        Backslashes::Reject => Err(TargetError::Backslash),
        Backslashes::Fold => next_segment(out, seg_start),
    }
}

/// Appends `%XX` with upper-case hex.
fn push_escape(out: &mut String, value: u8) {
    out.push('%');
    out.push(hex_digit(value >> 4));
    out.push(hex_digit(value));
}

/// Applies RFC 3986 §5.2.4 to the segment `out[seg_start..]` (which starts with its `/`).
fn end_segment(out: &mut String, seg_start: usize, last: bool) -> Result<(), TargetError> {
    let segment = out.as_bytes().get(seg_start + 1..).unwrap_or_default();
    if segment.first() != Some(&b'.') {
        return Ok(()); // the common case: an ordinary (or empty) segment stays
    }
    let pop = if segment == b"." {
        false
    } else if segment == b".." {
        true
    } else if is_parameter_dot_segment(segment) {
        return Err(TargetError::PathParameterDotSegment);
    } else {
        return Ok(());
    };
    out.truncate(seg_start);
    if pop {
        // `..` at the root clamps: with nothing to remove, `rfind` finds nothing and the
        // output stays empty.
        let previous = out.bytes().rposition(|b| b == b'/').unwrap_or(0);
        out.truncate(previous);
    }
    if last {
        // "/a/." and "/a/b/.." keep the directory's trailing slash (RFC 3986 §5.2.4 B/C).
        out.push('/');
    }
    Ok(())
}

#[cfg(test)]
mod tests;
