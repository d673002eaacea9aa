//! Path modifiers (`ReplaceFullPath`, `ReplacePrefixMatch`) shared by URLRewrite and
//! RequestRedirect, and the URLRewrite filter.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::borrow::Cow;

use crate::attach::RuleSpec;
use crate::filter::{PathModifier, Reason, RequestEdits, Rewrite};
use crate::route::Decision;

/// Applies a URLRewrite filter: "Hostname is the value to be used to replace the Host header
/// value during forwarding"; the path is modified from the canonical path the request was
/// routed on. A later URLRewrite (a backendRef's) replaces what an earlier one set.
pub(super) fn apply(
    rewrite: &Rewrite,
    decision: &Decision<'_, '_>,
    edits: &mut RequestEdits,
) -> Result<(), Reason> {
    if let Some(hostname) = &rewrite.hostname {
        edits.authority = Some(hostname.to_string());
    }
    if let Some(modifier) = &rewrite.path {
        edits.path = Some(modified_path(modifier, decision)?);
    }
    Ok(())
}

/// The path a modifier makes of the request's canonical path.
pub(super) fn modified_path(
    modifier: &PathModifier,
    decision: &Decision<'_, '_>,
) -> Result<String, Reason> {
    match modifier {
        PathModifier::Full(path) => Ok(path.to_string()),
        PathModifier::Prefix(replacement) => {
            // HTTPPathModifier.replacePrefixMatch: "ReplacePrefixMatch is only compatible with a
            // `PathPrefix` HTTPRouteMatch."
            let prefix = matched_prefix(decision)
                .ok_or("ReplacePrefixMatch needs the rule to match with a PathPrefix")?;
            replace_prefix(decision.path(), prefix, replacement).ok_or(Cow::Borrowed(
                "the request path does not start with the matched prefix",
            ))
        }
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
