//! Path modifiers (`ReplaceFullPath`, `ReplacePrefixMatch`) shared by URLRewrite and
//! RequestRedirect, and the URLRewrite filter.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::borrow::Cow;

use crate::api::{HttpPathModifier, PathModifierType, UrlRewrite};
use crate::attach::RuleSpec;
use crate::filter::{Reason, RequestEdits};
use crate::route::Decision;

/// Applies a URLRewrite filter: "Hostname is the value to be used to replace the Host header
/// value during forwarding"; the path is modified from the canonical path the request was
/// routed on. A later URLRewrite (a backendRef's) replaces what an earlier one set.
pub(super) fn apply(
    rewrite: &UrlRewrite,
    decision: &Decision<'_, '_>,
    edits: &mut RequestEdits,
) -> Result<(), Reason> {
    if let Some(hostname) = &rewrite.hostname {
        check_hostname(hostname)?;
        edits.authority = Some(hostname.clone());
    }
    if let Some(modifier) = &rewrite.path {
        edits.path = Some(modified_path(modifier, decision)?);
    }
    Ok(())
}

/// The path a modifier makes of the request's canonical path.
pub(super) fn modified_path(
    modifier: &HttpPathModifier,
    decision: &Decision<'_, '_>,
) -> Result<String, Reason> {
    match &modifier.type_ {
        PathModifierType::ReplaceFullPath => {
            let path = modifier
                .replace_full_path
                .as_deref()
                .ok_or("ReplaceFullPath without replaceFullPath")?;
            check_path(path)?;
            Ok(path.to_owned())
        }
        PathModifierType::ReplacePrefixMatch => {
            let replacement = modifier
                .replace_prefix_match
                .as_deref()
                .ok_or("ReplacePrefixMatch without replacePrefixMatch")?;
            if !replacement.is_empty() {
                check_path(replacement)?;
            }
            // HTTPPathModifier.replacePrefixMatch: "ReplacePrefixMatch is only compatible with a
            // `PathPrefix` HTTPRouteMatch."
            let prefix = matched_prefix(decision)
                .ok_or("ReplacePrefixMatch needs the rule to match with a PathPrefix")?;
            replace_prefix(decision.path(), prefix, replacement).ok_or(Cow::Borrowed(
                "the request path does not start with the matched prefix",
            ))
        }
        other => Err(Cow::Owned(format!(
            "unsupported path modifier type {other}"
        ))),
    }
}

/// The `PathPrefix` value of the match that selected the request, if it is a prefix match.
fn matched_prefix<'r>(decision: &Decision<'r, '_>) -> Option<&'r str> {
    let Some(RuleSpec::Http(rule)) = decision.rule_spec() else {
        return None;
    };
    // Kept for every rule with a `ReplacePrefixMatch` filter (see `RuleFilters::prefixes`).
    rule.prefixes.get(decision.match_index()?)?.as_deref()
}

/// Replaces the element-wise `prefix` of `path` with `replacement`.
///
/// HTTPPathModifier.replacePrefixMatch: "This matches full path elements. A path element refers
/// to the list of labels in the path split by the `/` separator. When specified, a trailing `/`
/// is ignored." Its table is implemented exactly: trailing slashes of the prefix and of the
/// replacement are ignored, the rest of the path (from its `/`) is kept, and an empty result is
/// `/`. So `/foo` → `/` on `/foo/bar` gives `/bar`, never `//bar`; `/foo` → `/xyz` on `/foo/`
/// gives `/xyz/`. `None` when `prefix` is not an element-wise prefix of `path`.
pub(super) fn replace_prefix(path: &str, prefix: &str, replacement: &str) -> Option<String> {
    let prefix = prefix.trim_end_matches('/');
    let rest = path.strip_prefix(prefix)?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    let replacement = replacement.trim_end_matches('/');
    let mut out = String::with_capacity(1 + replacement.len() + rest.len());
    if !replacement.starts_with('/') {
        out.push('/');
    }
    out.push_str(replacement);
    if out.ends_with('/') {
        // `replacement` was empty: `rest` brings its own `/`, or the result is `/`.
        out.clear();
    }
    out.push_str(rest);
    if out.is_empty() {
        out.push('/');
    }
    Some(out)
}

/// A configured path: starts with `/`, only RFC 3986 `pchar`s and `/`, every `%` followed by
/// two hex digits (no space, `?`, `#`, control or non-ASCII bytes, which would change the
/// meaning of the request line or the `location`).
pub(super) fn check_path(path: &str) -> Result<(), Reason> {
    let bytes = path.as_bytes();
    let ok = bytes.first() == Some(&b'/')
        && bytes.iter().enumerate().all(|(i, &b)| match b {
            b'%' => bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)),
            b'/' | b':' | b'@' | b'-' | b'.' | b'_' | b'~' | b'!' | b'$' | b'&' | b'\'' | b'('
            | b')' | b'*' | b'+' | b',' | b';' | b'=' => true,
            _ => b.is_ascii_alphanumeric(),
        });
    if ok {
        Ok(())
    } else {
        Err(Cow::Owned(format!(
            "path {path:?} is not a valid absolute path"
        )))
    }
}

/// A configured hostname (`PreciseHostname`): letters, digits, `-` and `.`, at most 253 bytes.
pub(super) fn check_hostname(hostname: &str) -> Result<(), Reason> {
    let ok = !hostname.is_empty()
        && hostname.len() <= 253
        && hostname
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !hostname.starts_with('.')
        && !hostname.contains("..");
    if ok {
        Ok(())
    } else {
        Err(Cow::Owned(format!(
            "hostname {hostname:?} is not a valid hostname"
        )))
    }
}
