//! Gateway API durations (GEP-2257).

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

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
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut components = 0;
    let mut millis: u64 = 0;
    while i < bytes.len() {
        components += 1;
        if components > 4 {
            return None;
        }
        let start = i;
        let mut value: u64 = 0;
        while let Some(d) = bytes.get(i).filter(|b| b.is_ascii_digit()) {
            if i - start == 5 {
                return None;
            }
            value = value * 10 + u64::from(d - b'0');
            i += 1;
        }
        if i == start {
            return None;
        }
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
        // At most 4 × 99,999 h: far below u64::MAX milliseconds.
        millis = millis.saturating_add(value.saturating_mul(unit_ms));
    }
    (components > 0).then(|| Duration::from_millis(millis))
}
