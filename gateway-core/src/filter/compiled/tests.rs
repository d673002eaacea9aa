//! `compile`: one answer per filter, for status and for the request path.

use super::*;

fn filter(json: &str) -> HttpRouteFilter {
    serde_json::from_str(json).expect("a filter")
}

fn cx(route: FilterRoute, owner: Owner) -> FilterContext<'static> {
    FilterContext {
        route,
        owner,
        prefix_match: true,
        target: None,
    }
}

const HTTP_RULE: (FilterRoute, Owner) = (FilterRoute::Http, Owner::Rule);

fn compiled(json: &str, (route, owner): (FilterRoute, Owner)) -> Result<Filter, FilterProblem> {
    compile(&filter(json), &cx(route, owner))
}

fn refused(cause: ServerError, reason: &str) -> Result<Filter, FilterProblem> {
    Err(FilterProblem::Refused((
        cause,
        Cow::Owned(reason.to_owned()),
    )))
}

const TWICE: &str = r#"{"type": "RequestHeaderModifier", "requestHeaderModifier":
    {"set": [{"name": "X-A", "value": "1"}], "remove": ["x-a"]}}"#;

#[test]
fn a_header_named_in_two_actions_drops_the_rule() {
    let dropped = Err(FilterProblem::Dropped(
        "header \"x-a\" is named in more than one action of a RequestHeaderModifier filter"
            .to_owned(),
    ));
    assert_eq!(compiled(TWICE, HTTP_RULE), dropped);
    assert_eq!(
        compiled(TWICE, (FilterRoute::Http, Owner::BackendRef)),
        dropped
    );
    assert_eq!(compiled(TWICE, (FilterRoute::Grpc, Owner::Rule)), dropped);
}

/// Attachment reads only a GRPCRoute rule's own filters for drop decisions: a backendRef's
/// filter is applied as written, later actions composing over earlier ones.
#[test]
fn a_grpc_backend_ref_filter_is_never_dropped() {
    let Ok(Filter::RequestHeaders(edits)) = compiled(TWICE, (FilterRoute::Grpc, Owner::BackendRef))
    else {
        panic!("a header filter");
    };
    let mut applied = HeaderEdits::default();
    edits.apply(&mut applied);
    assert_eq!(applied.remove, ["x-a"]);
    assert!(applied.set.is_empty());
}

#[test]
fn an_unknown_filter_type_drops_the_rule() {
    assert_eq!(
        compiled(r#"{"type": "Teleport"}"#, HTTP_RULE),
        Err(FilterProblem::Dropped(
            "unsupported filter type \"Teleport\"".to_owned()
        ))
    );
}

#[test]
fn a_grpc_route_refuses_the_whole_rule_for_a_type_it_does_not_allow() {
    let cors = r#"{"type": "CORS", "cors": {"allowOrigins": ["*"]}}"#;
    assert_eq!(
        compiled(cors, (FilterRoute::Grpc, Owner::BackendRef)),
        Err(FilterProblem::RefusesRule((
            ServerError::UnsupportedFilter,
            Cow::Borrowed("filter type CORS is not supported on a GRPCRoute"),
        )))
    );
}

#[test]
fn a_filter_without_its_settings_is_refused() {
    assert_eq!(
        compiled(r#"{"type": "CORS"}"#, HTTP_RULE),
        refused(ServerError::InvalidFilter, "CORS filter without settings")
    );
}

#[test]
fn an_extension_ref_is_unsupported() {
    let ext =
        r#"{"type": "ExtensionRef", "extensionRef": {"group": "x.io", "kind": "K", "name": "n"}}"#;
    assert_eq!(
        compiled(ext, HTTP_RULE),
        refused(
            ServerError::UnsupportedFilter,
            "ExtensionRef filters are not supported"
        )
    );
}

#[test]
fn header_edits_may_not_touch_framing_headers() {
    let json = r#"{"type": "ResponseHeaderModifier", "responseHeaderModifier":
        {"add": [{"name": "Content-Length", "value": "0"}]}}"#;
    assert_eq!(
        compiled(json, HTTP_RULE),
        refused(
            ServerError::InvalidFilter,
            "ResponseHeaderModifier: header \"Content-Length\" frames the message and cannot be edited"
        )
    );
}

#[test]
fn a_redirect_answers_only_301_or_302() {
    let with = |status: u16| {
        compiled(
            &format!(
                r#"{{"type": "RequestRedirect", "requestRedirect": {{"statusCode": {status}}}}}"#
            ),
            HTTP_RULE,
        )
    };
    let Ok(Filter::Redirect(r)) = with(301) else {
        panic!("a redirect");
    };
    assert_eq!(r.status, RedirectStatus::MovedPermanently);
    assert_eq!(
        with(303),
        refused(
            ServerError::InvalidFilter,
            "redirect status 303 is not supported (301 or 302)"
        )
    );
}

/// The status is checked before the hostname, as the request path did.
#[test]
fn a_redirect_reports_its_first_problem() {
    let json = r#"{"type": "RequestRedirect", "requestRedirect":
        {"statusCode": 307, "hostname": "bad host"}}"#;
    assert_eq!(
        compiled(json, HTTP_RULE),
        refused(
            ServerError::InvalidFilter,
            "redirect status 307 is not supported (301 or 302)"
        )
    );
    let json = r#"{"type": "URLRewrite", "urlRewrite": {"hostname": "bad host"}}"#;
    assert_eq!(
        compiled(json, HTTP_RULE),
        refused(
            ServerError::InvalidFilter,
            "hostname \"bad host\" is not a valid hostname"
        )
    );
}

#[test]
fn replace_prefix_match_needs_a_path_prefix_match() {
    let json = r#"{"type": "URLRewrite", "urlRewrite":
        {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/v2"}}}"#;
    let f = filter(json);
    let mut without = cx(FilterRoute::Http, Owner::Rule);
    without.prefix_match = false;
    assert_eq!(
        compile(&f, &without),
        Err(FilterProblem::Refused((
            ServerError::InvalidFilter,
            Cow::Borrowed("ReplacePrefixMatch needs the rule to match with a PathPrefix"),
        )))
    );
    let Ok(rewrite) = compile(&f, &cx(FilterRoute::Http, Owner::Rule)) else {
        panic!("a rewrite");
    };
    assert!(rewrite.replaces_prefix());
}

fn service() -> ServicePort {
    ServicePort {
        namespace: "infra".to_owned(),
        name: "auth".to_owned(),
        port: 9000,
        app_protocol: None,
        assumed: false,
    }
}

/// The auth service is resolved before the settings are read, as the request path did.
#[test]
fn external_auth_answers_for_its_backend_before_its_settings() {
    let json = r#"{"type": "ExternalAuth", "externalAuth": {"protocol": "HTTP",
        "backendRef": {"name": "auth", "port": 9000}, "forwardBody": {"maxSize": -1}}}"#;
    let f = filter(json);
    let mut with = cx(FilterRoute::Http, Owner::Rule);
    with.target = Some(Err("service \"auth\" not found"));
    assert_eq!(
        compile(&f, &with),
        Err(FilterProblem::Refused((
            ServerError::AuthBackendUnresolved,
            Cow::Borrowed("ExternalAuth backendRef: service \"auth\" not found"),
        )))
    );
    with.target = Some(Ok(service()));
    assert_eq!(
        compile(&f, &with),
        refused(
            ServerError::InvalidFilter,
            "forwardBody.maxSize is negative"
        )
    );
}

#[test]
fn external_auth_path_prefix_is_sanitized_once() {
    let with = |path: &str| {
        let json = format!(
            r#"{{"type": "ExternalAuth", "externalAuth": {{"protocol": "HTTP",
            "backendRef": {{"name": "auth", "port": 9000}}, "http": {{"path": "{path}"}}}}}}"#
        );
        let mut cx = cx(FilterRoute::Http, Owner::Rule);
        cx.target = Some(Ok(service()));
        compile(&filter(&json), &cx)
    };
    let Ok(Filter::ExternalAuth(auth)) = with("/check/") else {
        panic!("an auth filter");
    };
    let AuthProtocolConfig::Http { prefix, .. } = &auth.protocol else {
        panic!("HTTP");
    };
    assert_eq!(&**prefix, "/check");
    assert_eq!(
        with("/a/../b"),
        refused(
            ServerError::InvalidFilter,
            "ExternalAuth http.path \"/a/../b\" is not a canonical path"
        )
    );
}

#[test]
fn a_mirror_without_a_resolved_backend_never_fires() {
    let json = r#"{"type": "RequestMirror", "requestMirror":
        {"backendRef": {"name": "m", "port": 80}, "percent": 50}}"#;
    let f = filter(json);
    let mut with = cx(FilterRoute::Http, Owner::Rule);
    assert_eq!(compile(&f, &with), Ok(Filter::Mirror(MirrorFilter::Never)));
    with.target = Some(Ok(service()));
    assert_eq!(
        compile(&f, &with),
        Ok(Filter::Mirror(MirrorFilter::Fires {
            share: MIRROR_PARTS / 2,
            target: service(),
        }))
    );
}

#[test]
fn cors_origins_are_parsed_when_compiled() {
    let json = r#"{"type": "CORS", "cors": {"allowOrigins":
        ["https://*.example.com", "not an origin", "http://a.test:8080"]}}"#;
    let Ok(Filter::Cors(cors)) = compiled(json, HTTP_RULE) else {
        panic!("a CORS filter");
    };
    assert!(cors.allows("https://www.example.com"));
    assert!(!cors.allows("https://example.com"));
    assert!(cors.allows("http://a.test:8080"));
    assert!(!cors.allows("http://a.test"));
    assert!(!cors.allows("not an origin"));
}
