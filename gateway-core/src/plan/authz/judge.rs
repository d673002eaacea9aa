//! The meaning of the auth service's answer.

use super::check::{AuthCheck, CONNECTION_HEADERS, is_field_value, is_token};
use super::{AuthProtocol, AuthResponse, proto};
use crate::filter::HeaderEdits;
use crate::outcome::{Denied, Outcome};
use crate::plan::{LocalResponse, Plan};

/// What an answer means, before the sealed plan is released.
pub(super) enum Verdict {
    /// Allowed, with edits of the upstream request and of the client's response.
    Allow {
        request: HeaderEdits,
        response: HeaderEdits,
    },
    /// Denied: the auth service's answer for the client.
    Deny(LocalResponse),
    /// No usable answer: fail closed.
    Fail(LocalResponse),
}

pub(super) fn judge(check: &AuthCheck<'_>, response: AuthResponse, failure: u16) -> Verdict {
    let fail = |why: &str| {
        Verdict::Fail(LocalResponse::new(
            Outcome::Denied(Denied::AuthFailed),
            failure,
            format!("external auth failed closed: {why}"),
        ))
    };
    let result = match (response, check.protocol()) {
        (AuthResponse::Unreachable, _) => Err("the auth service is unreachable".to_owned()),
        (AuthResponse::Timeout, _) => Err("the auth service timed out".to_owned()),
        (AuthResponse::Malformed(why), _) => Err(format!("malformed answer: {why}")),
        (
            AuthResponse::Http {
                status,
                headers,
                body,
            },
            AuthProtocol::Http,
        ) => http(check, status, &headers, body),
        (AuthResponse::Grpc(resp), AuthProtocol::Grpc) => grpc(check, resp),
        _ => Err("the answer is not of the check's protocol".to_owned()),
    };
    match result {
        Ok(verdict) => verdict,
        Err(why) => fail(&why),
    }
}

/// Releases the sealed plan: auth edits first, then the rule's own edits on top.
pub(super) fn release<'r>(
    pending: Plan<'r>,
    request: HeaderEdits,
    response: HeaderEdits,
) -> Plan<'r> {
    match pending {
        Plan::Forward(mut fp) => {
            fp.request.headers = compose(request, &fp.request.headers);
            fp.response = compose(response, &fp.response);
            Plan::Forward(fp)
        }
        other => other,
    }
}

/// `earlier` then `later` (each name is in at most one list of `later`, so the order of the
/// lists does not matter).
fn compose(mut earlier: HeaderEdits, later: &HeaderEdits) -> HeaderEdits {
    earlier.compose(&later.set, &later.add, &later.remove);
    earlier
}

/// A header the auth service may never set on the upstream request: `host`, pseudo headers,
/// framing and hop-by-hop headers (SECURITY.md rule 6: the auth service never sets `host`).
fn never_copied(name: &str) -> bool {
    name == "host" || name.starts_with(':') || CONNECTION_HEADERS.contains(&name)
}

/// The lower-cased name, when the name is a token (or a pseudo header, which is then ignored)
/// and the value has no CR, LF or NUL.
fn checked(name: &str, value: &str) -> Result<String, String> {
    if !is_token(name.strip_prefix(':').unwrap_or(name)) {
        return Err(format!("header name {name:?} is not a token"));
    }
    if !is_field_value(value) {
        return Err(format!("header {name:?} has control characters"));
    }
    Ok(name.to_ascii_lowercase())
}

// === HTTP ===

fn http(
    check: &AuthCheck<'_>,
    status: u16,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> Result<Verdict, String> {
    // Only a 200 allows; every other answer denies or fails closed (SECURITY.md rule 6).
    if status == 200 {
        let allowed = &check.config().allowed_response_headers;
        let mut edits = HeaderEdits::default();
        let mut seen: Vec<String> = Vec::new();
        for (name, value) in headers {
            let name = checked(name, value)?;
            if never_copied(&name) || (!allowed.is_empty() && !allowed.contains(&name)) {
                continue;
            }
            // The first field replaces the client's headers of that name; repeated fields
            // from the auth service are kept, joined with `,`.
            if seen.contains(&name) {
                edits.push_add(&name, value);
            } else {
                edits.push_set(&name, value);
                seen.push(name);
            }
        }
        return Ok(Verdict::Allow {
            request: edits,
            response: HeaderEdits::default(),
        });
    }
    if !(201..=599).contains(&status) {
        return Err(format!("status {status} is not a final HTTP status"));
    }
    let mut out = Vec::new();
    for (name, value) in headers {
        let name = checked(name, value)?;
        if !never_copied(&name) {
            out.push((name, value.clone()));
        }
    }
    Ok(Verdict::Deny(LocalResponse {
        headers: out,
        body,
        ..LocalResponse::new(
            Outcome::Denied(Denied::ByAuthService),
            status,
            format!("external auth answered {status}"),
        )
    }))
}

// === gRPC ===

fn grpc(check: &AuthCheck<'_>, resp: proto::CheckResponse) -> Result<Verdict, String> {
    let status = resp
        .status
        .ok_or_else(|| "CheckResponse without status".to_owned())?;
    if status.code == proto::code::OK {
        let ok = match resp.http_response {
            None => return Ok(allow_empty()),
            Some(proto::HttpResponse::OkResponse(ok)) => ok,
            Some(proto::HttpResponse::DeniedResponse(_)) => {
                return Err("status OK with a denied_response".to_owned());
            }
        };
        if !ok.query_parameters_to_set.is_empty() || !ok.query_parameters_to_remove.is_empty() {
            return Err("query parameter mutations are not supported".to_owned());
        }
        let mut request = HeaderEdits::default();
        for option in &ok.headers {
            let (name, value) = option_header(option)?;
            if never_copied(&name) || (value.is_empty() && !option.keep_empty_value) {
                continue;
            }
            match mode(option)? {
                Mode::Append => request.push_add(&name, &value),
                Mode::Overwrite => request.push_set(&name, &value),
                Mode::AddIfAbsent => {
                    if !check.client_has(&name) && !edits_name(&request, &name) {
                        request.push_set(&name, &value);
                    }
                }
                Mode::OverwriteIfExists => {
                    if check.client_has(&name) || edits_name(&request, &name) {
                        request.push_set(&name, &value);
                    }
                }
            }
        }
        for name in &ok.headers_to_remove {
            if !is_token(name) {
                return Err(format!("headers_to_remove names {name:?}, not a token"));
            }
            let name = name.to_ascii_lowercase();
            // OkHttpResponse.headers_to_remove: "Pseudo headers (such as `:authority`,
            // `:method`, `:path` etc), as well as the header `Host`, may not be removed ...
            // these special headers will be ignored."
            if name != "host" {
                request.push_remove(&name);
            }
        }
        let mut response = HeaderEdits::default();
        for option in &ok.response_headers_to_add {
            let (name, value) = option_header(option)?;
            if never_copied(&name) {
                continue;
            }
            if option.append.is_some_and(|a| a.value) {
                response.push_add(&name, &value);
            } else {
                response.push_set(&name, &value);
            }
        }
        return Ok(Verdict::Allow { request, response });
    }
    // Denied. DeniedHttpResponse.status: "send a HTTP response status code to the downstream
    // client other than 403 (Forbidden)"; unset or 0 (`Empty`) means 403.
    let denied = match resp.http_response {
        Some(proto::HttpResponse::DeniedResponse(d)) => Some(d),
        _ => None,
    };
    let http_status = match denied.as_ref().and_then(|d| d.status).map(|s| s.code) {
        None | Some(0) => 403,
        Some(code) => u16::try_from(code)
            .ok()
            .filter(|c| (200..=599).contains(c))
            .ok_or_else(|| format!("denied_response status {code} is not an HTTP status"))?,
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut body = Vec::new();
    if let Some(d) = denied {
        for option in &d.headers {
            let (name, value) = option_header(option)?;
            if never_copied(&name) {
                continue;
            }
            if !option.append.is_some_and(|a| a.value) {
                headers.retain(|(n, _)| *n != name);
            }
            headers.push((name, value));
        }
        body = d.body.into_bytes();
    }
    Ok(Verdict::Deny(LocalResponse {
        headers,
        body,
        ..LocalResponse::new(
            Outcome::Denied(Denied::ByAuthService),
            http_status,
            format!(
                "external auth answered {http_status} (gRPC status {})",
                status.code
            ),
        )
    }))
}

fn allow_empty() -> Verdict {
    Verdict::Allow {
        request: HeaderEdits::default(),
        response: HeaderEdits::default(),
    }
}

fn edits_name(edits: &HeaderEdits, name: &str) -> bool {
    edits.set.iter().chain(&edits.add).any(|(n, _)| n == name)
}

enum Mode {
    Append,
    Overwrite,
    AddIfAbsent,
    OverwriteIfExists,
}

/// How a `HeaderValueOption` applies to the upstream request. `append`, when present, wins;
/// otherwise `append_action`, except that its default (0, append-if-exists-or-add, which an
/// unset field also reads as) overwrites: OkHttpResponse.headers says "the `append` field in
/// `HeaderValueOption` defaults to false", and SECURITY.md rule 6 wants auth-supplied headers
/// to replace the client's.
fn mode(option: &proto::HeaderValueOption) -> Result<Mode, String> {
    use proto::append_action as action;
    if let Some(append) = option.append {
        return Ok(if append.value {
            Mode::Append
        } else {
            Mode::Overwrite
        });
    }
    match option.append_action {
        action::APPEND_IF_EXISTS_OR_ADD | action::OVERWRITE_IF_EXISTS_OR_ADD => Ok(Mode::Overwrite),
        action::ADD_IF_ABSENT => Ok(Mode::AddIfAbsent),
        action::OVERWRITE_IF_EXISTS => Ok(Mode::OverwriteIfExists),
        other => Err(format!("unknown append_action {other}")),
    }
}

/// The checked, lower-cased name and the value of a `HeaderValueOption`.
fn option_header(option: &proto::HeaderValueOption) -> Result<(String, String), String> {
    let header = option
        .header
        .as_ref()
        .ok_or_else(|| "HeaderValueOption without header".to_owned())?;
    let value = if header.raw_value.is_empty() {
        header.value.clone()
    } else {
        String::from_utf8(header.raw_value.clone())
            .map_err(|_| format!("header {:?} has a raw_value that is not UTF-8", header.key))?
    };
    let name = checked(&header.key, &value)?;
    Ok((name, value))
}
