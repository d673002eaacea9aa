//! Compiling the regular expressions of matches (paths, headers, query parameters, gRPC
//! service and method names) with bounded cost.

use regex::{Regex, RegexBuilder};

/// Largest compiled program accepted for one pattern, in bytes.
const SIZE_LIMIT: usize = 1 << 20;
/// Deepest nesting of groups and repetitions accepted.
const NEST_LIMIT: u32 = 50;

/// Compiles `pattern` so that it must match the whole input (`^(?:pattern)$`), with a 1 MiB
/// program size limit and a nesting limit of 50.
///
/// The pattern is first compiled on its own, so that one which closes the wrapping group
/// early (`a)|(b`) is rejected instead of changing what is anchored.
///
/// # Errors
/// The `regex` crate's reason, in one lowercase line, when the pattern does not parse or
/// exceeds a limit.
pub(crate) fn compile_anchored(pattern: &str) -> Result<Regex, String> {
    build(pattern)?;
    build(&format!("^(?:{pattern})$"))
}

/// Compiles a regular expression the way every matcher uses it: anchored to the whole value
/// (a pattern that closes the anchoring group early, like `a)|(b`, is refused), with the size
/// limit (1 MiB) and nest limit (50) of SECURITY.md, and at most 1024 bytes long.
///
/// # Errors
/// The compile error, as one lowercase line.
///
/// # Examples
/// ```
/// let re = gateway_core::api::compile_regex("/v[0-9]+").unwrap();
/// assert!(re.is_match("/v2") && !re.is_match("/v2/x"));
/// assert!(gateway_core::api::compile_regex("a)|(b").is_err());
/// ```
pub fn compile_regex(pattern: &str) -> Result<Regex, String> {
    if pattern.len() > 1024 {
        return Err("longer than 1024 bytes".to_owned());
    }
    compile_anchored(pattern)
}

fn build(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .size_limit(SIZE_LIMIT)
        .nest_limit(NEST_LIMIT)
        .build()
        .map_err(|e| one_line(&e.to_string()))
}

/// The last non-empty line of a `regex` error (its `error: ...` line for syntax errors),
/// without the `error: ` label, a leading capital or a trailing period.
fn one_line(message: &str) -> String {
    let line = message
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("invalid regular expression");
    let line = line
        .strip_prefix("error: ")
        .unwrap_or(line)
        .trim_end_matches('.');
    let mut chars = line.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::from("invalid regular expression"),
    }
}
