//! ReferenceGrant, BackendTLSPolicy and XBackendTrafficPolicy.

use serde_json::Value;

use super::Cx;
use super::checks::{
    GROUP, HOSTNAME, KIND, NAMESPACE, OBJECT_NAME, PRECISE_HOSTNAME, SECTION_NAME, StringRule,
    items, known_enum, local_ref, opt_string, range, repeats, string,
};
use super::gateway::options;
use super::names;
use super::path::FieldPath;
use super::route::{duration, session_persistence};
use crate::api::{
    BackendTlsPolicySpec, BackendTlsPolicyValidation, BackendTrafficPolicySpec,
    PolicyTargetReference, ReferenceGrantSpec, SubjectAltName, SubjectAltNameType, WellKnownCaType,
};

/// `ReferenceGrant.spec`.
pub(super) fn reference_grant(cx: &mut Cx<'_>, spec: &ReferenceGrantSpec) {
    let p = FieldPath::root("spec.from");
    items(cx, p, spec.from.len(), 1, 16);
    for (i, from) in spec.from.iter().enumerate() {
        string(cx, p.index(i).field("group"), &from.group, GROUP);
        string(cx, p.index(i).field("kind"), &from.kind, KIND);
        string(
            cx,
            p.index(i).field("namespace"),
            &from.namespace,
            NAMESPACE,
        );
    }
    let p = FieldPath::root("spec.to");
    items(cx, p, spec.to.len(), 1, 16);
    for (i, to) in spec.to.iter().enumerate() {
        string(cx, p.index(i).field("group"), &to.group, GROUP);
        string(cx, p.index(i).field("kind"), &to.kind, KIND);
        opt_string(
            cx,
            p.index(i).field("name"),
            to.name.as_deref(),
            OBJECT_NAME,
        );
    }
}

/// `BackendTLSPolicy.spec`.
pub(super) fn backend_tls_policy(cx: &mut Cx<'_>, spec: &BackendTlsPolicySpec) {
    target_refs(cx, &spec.target_refs, true);
    tls_validation(cx, &spec.validation);
    options(cx, FieldPath::root("spec.options"), &spec.options);
}

/// `targetRefs` of a policy: 1 to 16 local references, with a sectionName when `sectioned`.
fn target_refs(cx: &mut Cx<'_>, refs: &[PolicyTargetReference], sectioned: bool) {
    let target_refs = FieldPath::root("spec.targetRefs");
    items(cx, target_refs, refs.len(), 1, 16);
    for (i, r) in refs.iter().enumerate() {
        let p = target_refs.index(i);
        string(cx, p.field("group"), &r.group, GROUP);
        string(cx, p.field("kind"), &r.kind, KIND);
        string(cx, p.field("name"), &r.name, OBJECT_NAME);
        match (&r.section_name, sectioned) {
            (Some(section), true) => string(cx, p.field("sectionName"), section, SECTION_NAME),
            (Some(_), false) => cx.warning(
                p.field("sectionName"),
                "not a field of this kind's targetRefs; ignored",
            ),
            (None, _) => {}
        }
    }
    let target = |r: &PolicyTargetReference| (r.group.clone(), r.kind.clone(), r.name.clone());
    if !sectioned {
        // listMapKeys group, kind, name.
        for (earlier, later) in repeats(refs.iter().map(target)) {
            cx.error(
                target_refs.index(later),
                format!("duplicate target (same as spec.targetRefs[{earlier}])"),
            );
        }
        return;
    }
    let section = |r: &PolicyTargetReference| r.section_name.clone().filter(|s| !s.is_empty());
    // CEL: "sectionName must be specified when targetRefs includes 2 or more references to the
    // same target": references to one target all set sectionName, or none does.
    let mut reported = vec![false; refs.len()];
    for (j, later) in refs.iter().enumerate() {
        let conflict = refs.iter().take(j).position(|earlier| {
            target(earlier) == target(later)
                && section(earlier).is_some() != section(later).is_some()
        });
        if let Some(i) = conflict {
            if let Some(flag) = reported.get_mut(j) {
                *flag = true;
            }
            cx.error(
                target_refs.index(j).field("sectionName"),
                format!("sectionName must be specified when targetRefs includes 2 or more references to the same target (see spec.targetRefs[{i}])"),
            );
        }
    }
    // CEL: "sectionName must be unique when targetRefs includes 2 or more references to the
    // same target".
    for (earlier, later) in repeats(refs.iter().map(|r| (target(r), section(r)))) {
        if !reported.get(later).copied().unwrap_or(false) {
            cx.error(
                target_refs.index(later),
                format!("sectionName must be unique when targetRefs includes 2 or more references to the same target (same as spec.targetRefs[{earlier}])"),
            );
        }
    }
}

fn tls_validation(cx: &mut Cx<'_>, v: &BackendTlsPolicyValidation) {
    let p = FieldPath::root("spec.validation");
    items(
        cx,
        p.field("caCertificateRefs"),
        v.ca_certificate_refs.len(),
        0,
        8,
    );
    for (i, r) in v.ca_certificate_refs.iter().enumerate() {
        local_ref(cx, p.field("caCertificateRefs").index(i), r);
    }
    // An empty wellKnownCACertificates counts as unset in the CEL rules.
    let well_known = v
        .well_known_ca_certificates
        .as_ref()
        .filter(|w| !w.as_str().is_empty());
    if let Some(w) = well_known {
        known_enum(
            cx,
            p.field("wellKnownCACertificates"),
            w.as_str(),
            w.is_known(),
            WellKnownCaType::KNOWN,
        );
    }
    // CEL: "must not contain both CACertificateRefs and WellKnownCACertificates" and "must
    // specify either CACertificateRefs or WellKnownCACertificates".
    match (v.ca_certificate_refs.is_empty(), well_known.is_some()) {
        (false, true) => cx.error(
            p,
            "must not contain both caCertificateRefs and wellKnownCACertificates",
        ),
        (true, false) => cx.error(
            p,
            "must specify either caCertificateRefs or wellKnownCACertificates",
        ),
        _ => {}
    }
    string(cx, p.field("hostname"), &v.hostname, PRECISE_HOSTNAME);
    items(
        cx,
        p.field("subjectAltNames"),
        v.subject_alt_names.len(),
        0,
        5,
    );
    for (i, san) in v.subject_alt_names.iter().enumerate() {
        subject_alt_name(cx, p.field("subjectAltNames").index(i), san);
    }
}

fn subject_alt_name(cx: &mut Cx<'_>, p: FieldPath<'_>, san: &SubjectAltName) {
    known_enum(
        cx,
        p.field("type"),
        san.type_.as_str(),
        san.type_.is_known(),
        SubjectAltNameType::KNOWN,
    );
    if let Some(h) = &san.hostname {
        string(cx, p.field("hostname"), h, HOSTNAME);
    }
    if let Some(uri) = &san.uri {
        string(cx, p.field("uri"), uri, StringRule::length(1, 253));
        if !uri.is_empty() && !names::is_absolute_uri(uri) {
            cx.error(p.field("uri"), "must be an absolute URI (scheme://...)");
        }
    }
    // CEL: "SubjectAltName element must (not) contain Hostname / URI, if Type is (not) set to
    // Hostname / URI"; an empty value counts as unset.
    let members = [
        ("hostname", "Hostname", &san.hostname),
        ("uri", "URI", &san.uri),
    ];
    for (field, type_, value) in members {
        let set = value.as_deref().is_some_and(|v| !v.is_empty());
        if san.type_.as_str() == type_ && !set {
            cx.error(p.field(field), format!("required when type is {type_}"));
        } else if san.type_.as_str() != type_ && set {
            cx.error(
                p.field(field),
                format!("must not be set when type is not {type_}"),
            );
        }
    }
}

/// `XBackendTrafficPolicy.spec`.
pub(super) fn backend_traffic_policy(cx: &mut Cx<'_>, spec: &BackendTrafficPolicySpec) {
    target_refs(cx, &spec.target_refs, false);
    if let Some(sp) = &spec.session_persistence {
        session_persistence(cx, FieldPath::root("spec.sessionPersistence"), sp);
    }
    if let Some(rc) = &spec.retry_constraint {
        retry_constraint(cx, rc);
    }
}

const HOUR_MS: u64 = 3_600_000;

/// `retryConstraint`, kept as JSON by the wire model.
fn retry_constraint(cx: &mut Cx<'_>, rc: &Value) {
    let p = FieldPath::root("spec.retryConstraint");
    if !rc.is_object() {
        cx.error(p, "must be an object");
        return;
    }
    if let Some(budget) = rc.get("budget") {
        if let Some(ms) = duration_field(cx, p.field("budget.interval"), budget.get("interval")) {
            // CEL: "interval can not be greater than one hour or less than one second".
            if !(1_000..=HOUR_MS).contains(&ms) {
                cx.error(p.field("budget.interval"), "must be between 1s and 1h");
            }
        }
        int_field(cx, p.field("budget.percent"), budget.get("percent"), 0, 100);
    }
    if let Some(rate) = rc.get("minRetryRate") {
        int_field(
            cx,
            p.field("minRetryRate.count"),
            rate.get("count"),
            1,
            1_000_000,
        );
        if let Some(ms) = duration_field(cx, p.field("minRetryRate.interval"), rate.get("interval"))
        {
            // CEL: "interval can not be greater than one hour" (nor zero).
            if ms == 0 || ms > HOUR_MS {
                cx.error(
                    p.field("minRetryRate.interval"),
                    "must be greater than 0s and at most 1h",
                );
            }
        }
    }
}

fn duration_field(cx: &mut Cx<'_>, p: FieldPath<'_>, value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::String(s) => duration(cx, p, s),
        _ => {
            cx.error(p, "must be a string");
            None
        }
    }
}

fn int_field(cx: &mut Cx<'_>, p: FieldPath<'_>, value: Option<&Value>, min: i64, max: i64) {
    let Some(value) = value else { return };
    match value.as_i64() {
        Some(n) => range(cx, p, n, min, max),
        None => cx.error(p, "must be an integer"),
    }
}
