//! Gateway API durations (GEP-2257).

use std::time::Duration;

/// Parses a Gateway API duration such as `1h30m`, `500ms` or `0s`.
///
/// GEP-2257: a duration "MUST match the regular expression `^([0-9]{1,5}(h|m|s|ms)){1,4}$`"
/// and "The total duration expressed by a GEP-2257 Duration string is the sum of each of its
/// components" (units may repeat, in any order: `30m1h` is 90 minutes). Linear, no allocation.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use gateway_core::filter::parse_duration;
/// assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
/// assert_eq!(parse_duration("1s500ms"), Some(Duration::from_millis(1500)));
/// assert_eq!(parse_duration("0s"), Some(Duration::ZERO));
/// assert_eq!(parse_duration("1.5s"), None);
/// assert_eq!(parse_duration("1d"), None);
/// ```
pub fn parse_duration(text: &str) -> Option<Duration> {
    // The same parser validation uses: a duration is valid exactly when it parses here.
    crate::api::validate::parse_duration_ms(text).map(Duration::from_millis)
}
