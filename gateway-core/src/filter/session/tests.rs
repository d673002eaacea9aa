//! Session tokens: round trip, tampering, scoping, expiry and rebuild stability.

use proptest::prelude::*;

use super::*;

fn wire(json: &str) -> SessionPersistence {
    serde_json::from_str(json).expect("a sessionPersistence")
}

fn scope(rule_index: usize) -> SessionScope<'static> {
    SessionScope {
        route_kind: "HTTPRoute",
        namespace: "app",
        name: "web",
        rule_name: None,
        rule_index,
    }
}

const BACKENDS: [Option<(&str, &str, u16)>; 3] =
    [Some(("app", "v1", 8080)), Some(("app", "v2", 8080)), None];

fn policy(json: &str, rule_index: usize) -> SessionPolicy {
    SessionPolicy::compile(
        &wire(json),
        SessionSource::Rule,
        &scope(rule_index),
        BACKENDS.into_iter(),
        vec!["/cart".into()].into_boxed_slice(),
    )
    .expect("compiles")
}

fn session(policy: &SessionPolicy) -> Session<'_> {
    Session {
        policy,
        path: policy.cookie_path(0),
        secure: true,
    }
}

/// The token of a `Set-Cookie` value.
fn token(set: &SetSession) -> &str {
    let pair = set.value.split(';').next().unwrap();
    pair.split_once('=').unwrap().1
}

#[test]
fn issued_token_pins_its_backend_and_endpoint() {
    let p = policy(r#"{}"#, 0);
    let s = session(&p);
    let set = s.issue(1, "10.0.0.7:8080", 1_000).unwrap();
    assert_eq!(set.name, "set-cookie");
    let pin = s.lookup(Some(token(&set)), 1_001).unwrap();
    assert_eq!(
        (pin.backend_index, pin.endpoint, pin.issued),
        (1, "10.0.0.7:8080", 1_000)
    );
}

#[test]
fn cookie_has_the_security_attributes_and_the_rule_path() {
    let p = policy(r#"{"sessionName": "sticky"}"#, 0);
    let set = session(&p).issue(0, "[::1]:80", 5).unwrap();
    assert!(set.value.starts_with("sticky=g1!"), "{}", set.value);
    assert!(
        set.value
            .ends_with("; Path=/cart; Secure; HttpOnly; SameSite=Strict"),
        "{}",
        set.value
    );
    let plain = Session {
        secure: false,
        ..session(&p)
    };
    assert!(!plain.issue(0, "a", 5).unwrap().value.contains("Secure"));
}

#[test]
fn permanent_cookie_carries_max_age_of_the_absolute_timeout() {
    let p = policy(
        r#"{"absoluteTimeout": "1h", "cookieConfig": {"lifetimeType": "Permanent"}}"#,
        0,
    );
    let set = session(&p).issue(0, "a", 5).unwrap();
    assert!(set.value.contains("; Max-Age=3600;"), "{}", set.value);
    let session_cookie = policy(r#"{"absoluteTimeout": "1h"}"#, 0);
    let set = session(&session_cookie).issue(0, "a", 5).unwrap();
    assert!(!set.value.contains("Max-Age"), "{}", set.value);
}

#[test]
fn permanent_cookie_without_absolute_timeout_does_not_compile() {
    let w = wire(r#"{"cookieConfig": {"lifetimeType": "Permanent"}}"#);
    let r = SessionPolicy::compile(
        &w,
        SessionSource::Rule,
        &scope(0),
        BACKENDS.into_iter(),
        [].into(),
    );
    assert!(r.is_err());
}

#[test]
fn header_session_sets_the_header_to_the_token() {
    let p = policy(r#"{"type": "Header", "sessionName": "X-Session"}"#, 0);
    let s = session(&p);
    let set = s.issue(0, "pod-1", 7).unwrap();
    assert_eq!(set.name, "x-session");
    let headers = [("x-session", set.value.as_str())];
    let pin = s.find(&Headers::Pairs(&headers), 8).unwrap();
    assert_eq!(pin.endpoint, "pod-1");
}

#[test]
fn sessions_are_not_shared_between_rules() {
    let (a, b) = (policy("{}", 0), policy("{}", 1));
    assert_ne!(a.name(), b.name(), "default names are unique per rule");
    let set = session(&a).issue(0, "e", 1).unwrap();
    assert!(session(&b).lookup(Some(token(&set)), 1).is_none());
}

#[test]
fn rebuilt_policy_accepts_earlier_tokens() {
    let set = session(&policy("{}", 0)).issue(1, "e:1", 1).unwrap();
    let rebuilt = policy("{}", 0);
    assert!(session(&rebuilt).lookup(Some(token(&set)), 2).is_some());
}

#[test]
fn token_for_a_backend_now_naming_another_service_is_refused() {
    let set = session(&policy("{}", 0)).issue(1, "e", 1).unwrap();
    let moved = SessionPolicy::compile(
        &wire("{}"),
        SessionSource::Rule,
        &scope(0),
        [Some(("app", "v1", 8080)), Some(("app", "v3", 8080))].into_iter(),
        [].into(),
    )
    .unwrap();
    assert!(session(&moved).lookup(Some(token(&set)), 1).is_none());
}

#[test]
fn invalid_backend_or_endpoint_issues_nothing() {
    let p = policy("{}", 0);
    let s = session(&p);
    assert!(s.issue(2, "e", 1).is_none(), "invalid backendRef");
    assert!(s.issue(9, "e", 1).is_none(), "no such backendRef");
    assert!(s.issue(0, "", 1).is_none());
    assert!(s.issue(0, "a;b", 1).is_none());
    assert!(s.issue(0, &"a".repeat(MAX_ENDPOINT + 1), 1).is_none());
    assert!(s.issue(0, &"a".repeat(MAX_ENDPOINT), 1).is_some());
}

#[test]
fn absolute_timeout_ends_the_session() {
    let p = policy(r#"{"absoluteTimeout": "10s", "idleTimeout": "1h"}"#, 0);
    let s = session(&p);
    let set = s.issue(0, "e", 100).unwrap();
    assert!(s.lookup(Some(token(&set)), 109).is_some());
    assert!(s.lookup(Some(token(&set)), 110).is_none());
    // Renewing keeps the start time.
    let pin = s.lookup(Some(token(&set)), 105).unwrap();
    let renewed = s.renew(&pin, 105).unwrap();
    assert!(s.lookup(Some(token(&renewed)), 110).is_none());
}

#[test]
fn idle_timeout_counts_from_the_last_renewal() {
    let p = policy(r#"{"idleTimeout": "10s"}"#, 0);
    let s = session(&p);
    let set = s.issue(0, "e", 100).unwrap();
    assert!(s.lookup(Some(token(&set)), 115).is_none());
    let pin = s.lookup(Some(token(&set)), 105).unwrap();
    let renewed = s.renew(&pin, 105).unwrap();
    assert!(s.lookup(Some(token(&renewed)), 114).is_some());
}

#[test]
fn cookie_header_is_parsed_by_pairs() {
    let p = policy(r#"{"sessionName": "sticky"}"#, 0);
    let s = session(&p);
    let set = s.issue(1, "e", 1).unwrap();
    let t = token(&set);
    let cookies = [
        format!("a=b; sticky=garbage; xsticky={t}"),
        format!("c=d;sticky=\"{t}\" ; e=f"),
    ];
    let headers: Vec<(&str, &str)> = cookies.iter().map(|c| ("Cookie", c.as_str())).collect();
    let pin = s.find(&Headers::Pairs(&headers), 1).unwrap();
    assert_eq!(pin.backend_index, 1);
    let none = [("cookie", "sticky=; other=1")];
    assert!(s.find(&Headers::Pairs(&none), 1).is_none());
}

#[test]
fn cookie_path_of_each_match_type() {
    assert_eq!(&*cookie_path(&PathMatchType::PathPrefix, "/shop"), "/shop");
    assert_eq!(&*cookie_path(&PathMatchType::Exact, "/a/b"), "/a/b");
    assert_eq!(
        &*cookie_path(&PathMatchType::RegularExpression, "/p1/p2/.*/p3"),
        "/p1/p2"
    );
    assert_eq!(
        &*cookie_path(&PathMatchType::RegularExpression, "/v[0-9]+"),
        "/"
    );
    assert_eq!(&*cookie_path(&PathMatchType::PathPrefix, "/a;b"), "/");
}

proptest! {
    #[test]
    fn any_issued_token_round_trips(
        index in 0usize..2,
        endpoint in "[A-Za-z0-9.:_-]{1,64}",
        issued in 0u64..u64::MAX / 2,
    ) {
        let p = policy("{}", 3);
        let s = session(&p);
        let set = s.issue(index, &endpoint, issued).unwrap();
        let pin = s.lookup(Some(token(&set)), issued).unwrap();
        prop_assert_eq!(pin.backend_index, index);
        prop_assert_eq!(pin.endpoint, endpoint.as_str());
    }

    #[test]
    fn any_changed_byte_is_refused(at in 0usize..1000, byte in any::<u8>()) {
        let p = policy("{}", 3);
        let s = session(&p);
        let set = s.issue(1, "10.1.2.3:8443", 77).unwrap();
        let mut bytes = token(&set).as_bytes().to_vec();
        let at = at % bytes.len();
        prop_assume!(bytes[at] != byte);
        bytes[at] = byte;
        if let Ok(t) = std::str::from_utf8(&bytes) {
            prop_assert!(s.lookup(Some(t), 77).is_none());
        }
    }

    #[test]
    fn lookup_never_panics(t in ".{0,600}") {
        let p = policy("{}", 3);
        let _ = session(&p).lookup(Some(&t), 1);
    }
}
