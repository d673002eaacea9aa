//! The vocabulary's numbers and names are stable and distinct.

use std::collections::HashSet;

use super::*;

#[test]
fn outcome_numbers_and_names_are_the_ones_bindings_already_use() {
    let table = [
        (Outcome::Forward, 0, "forward"),
        (Outcome::Redirect, 1, "redirect"),
        (Outcome::Respond, 2, "respond"),
        (Outcome::NotFound(NotFound::NoRule), 3, "not_found"),
        (
            Outcome::BadRequest(BadRequest::InvalidHost),
            4,
            "bad_request",
        ),
        (Outcome::Misdirected, 5, "misdirected"),
        (
            Outcome::ServerError(ServerError::InvalidFilter),
            6,
            "server_error",
        ),
        (Outcome::Authorize, 7, "auth_required"),
        (Outcome::Denied(Denied::AuthFailed), 8, "auth_denied"),
        (Outcome::PassThrough, 9, "pass_through"),
    ];
    for (outcome, code, name) in table {
        assert_eq!(outcome.code(), code, "{outcome}");
        assert_eq!(outcome.as_str(), name, "{outcome}");
    }
}

#[test]
fn every_cause_has_a_distinct_number_in_its_outcome_block_and_a_distinct_name() {
    let mut codes = HashSet::new();
    let mut names = HashSet::new();
    for outcome in Outcome::CAUSES {
        let code = outcome.cause_code();
        let block = match outcome {
            Outcome::NotFound(_) => 100,
            Outcome::BadRequest(_) => 200,
            Outcome::ServerError(_) => 300,
            Outcome::Denied(_) => 400,
            _ => panic!("{outcome} has no cause"),
        };
        assert!(
            (block + 1..block + 100).contains(&code),
            "{outcome}: {code}"
        );
        assert!(codes.insert(code), "{code} is used twice");
        let name = outcome.cause_str();
        assert!(name.is_some_and(|n| names.insert(n)), "{outcome}");
    }
}

#[test]
fn outcomes_without_a_cause_have_cause_zero() {
    for outcome in [
        Outcome::Forward,
        Outcome::Redirect,
        Outcome::Respond,
        Outcome::Misdirected,
        Outcome::Authorize,
        Outcome::PassThrough,
    ] {
        assert_eq!(outcome.cause_code(), 0);
        assert_eq!(outcome.cause_str(), None);
    }
}

#[test]
fn bad_request_status_is_431_for_header_limits_414_for_long_targets_else_400() {
    assert_eq!(BadRequest::TooManyHeaderFields.status(), 431);
    assert_eq!(BadRequest::HeaderSectionTooLarge.status(), 431);
    assert_eq!(BadRequest::TargetTooLong.status(), 414);
    assert_eq!(BadRequest::InvalidHost.status(), 400);
    assert_eq!(
        Outcome::BadRequest(BadRequest::TargetTooLong).status(),
        Some(414)
    );
    assert_eq!(Outcome::Denied(Denied::BodyTooLarge).status(), None);
}

#[test]
fn server_error_status_is_502_for_a_refused_backend_certificate_else_500() {
    assert_eq!(ServerError::BackendCertificateRefused.status(), 502);
    assert_eq!(
        Outcome::ServerError(ServerError::BackendCertificateRefused).status(),
        Some(502)
    );
    assert_eq!(ServerError::InvalidBackend.status(), 500);
    assert_eq!(Outcome::ServerError(ServerError::Proxy).status(), Some(500));
}
