//! Gateway API hostname matching: listener × route intersection and request matching.
//!
//! Gateway API `Hostname`: "A wildcard hostname (`*.example.com`) matches one or more DNS labels
//! in place of the `*`"; it never matches the bare suffix (`example.com`). These rules are for
//! routing only; certificate names are matched by webpki (see SECURITY.md rule 8).

/// Whether a request host (canonical: lower-case, no port, no trailing dot) matches a
/// Gateway API hostname pattern (exact, or `*.` wildcard matching one or more labels).
pub fn host_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => {
            host.len() > suffix.len() + 1
                && host.ends_with(suffix)
                && host.as_bytes().get(host.len() - suffix.len() - 1) == Some(&b'.')
        }
        None => pattern.eq_ignore_ascii_case(host),
    }
}

/// The intersection of a listener hostname and a route hostname, or `None` when they are
/// disjoint. Gateway API `HTTPRouteSpec.hostnames`: a listener `*.example.com` admits a route
/// `foo.example.com` (and vice versa, a listener `foo.example.com` admits a route
/// `*.example.com`); `*.example.com` and `*.foo.example.com` intersect as the longer one.
pub fn intersect<'a>(listener: Option<&'a str>, route: &'a str) -> Option<&'a str> {
    let Some(listener) = listener else {
        return Some(route);
    };
    match (listener.strip_prefix("*."), route.strip_prefix("*.")) {
        (None, None) => listener.eq_ignore_ascii_case(route).then_some(route),
        (Some(_), None) => host_matches(listener, route).then_some(route),
        (None, Some(_)) => host_matches(route, listener).then_some(listener),
        (Some(l), Some(r)) => {
            if l == r {
                Some(route)
            } else if host_matches(route, l) {
                Some(listener)
            } else if host_matches(listener, r) {
                Some(route)
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_matches_one_or_more_labels_never_the_bare_suffix() {
        assert!(host_matches("*.example.com", "a.example.com"));
        assert!(host_matches("*.example.com", "a.b.example.com"));
        assert!(!host_matches("*.example.com", "example.com"));
        assert!(!host_matches("*.example.com", "aexample.com"));
        assert!(!host_matches("*.example.com", ".example.com"));
    }

    #[test]
    fn wildcard_listener_accepts_deeper_route_hostname() {
        assert_eq!(
            intersect(Some("*.example.com"), "foo.bar.example.com"),
            Some("foo.bar.example.com")
        );
        assert_eq!(
            intersect(Some("foo.example.com"), "*.example.com"),
            Some("foo.example.com")
        );
        assert_eq!(
            intersect(Some("*.example.com"), "*.foo.example.com"),
            Some("*.foo.example.com")
        );
        assert_eq!(
            intersect(Some("*.foo.example.com"), "*.example.com"),
            Some("*.foo.example.com")
        );
        assert_eq!(intersect(Some("*.example.com"), "example.com"), None);
        assert_eq!(intersect(Some("a.com"), "b.com"), None);
        assert_eq!(intersect(None, "b.com"), Some("b.com"));
    }
}
