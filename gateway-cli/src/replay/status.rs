//! Status checks of a case: `expected_conditions`, `expected_route_parents`,
//! `expected_listeners` and `expected_status`, compared as the corpus README specifies.

use gateway_core::api::{Condition, Resource, Snapshot};
use gateway_core::attach::{Status, StatusReport};

use super::case::{
    Cond, ExpectedCondition, ExpectedListeners, ExpectedRouteParents, ExpectedStatus,
};

fn has(conditions: &[Condition], want: &Cond) -> bool {
    conditions.iter().any(|c| {
        c.type_ == want.type_
            && want.status.as_ref().is_none_or(|s| *s == c.status)
            && want.reason.as_ref().is_none_or(|r| *r == c.reason)
    })
}

fn show(conditions: &[Condition]) -> String {
    let parts: Vec<String> = conditions
        .iter()
        .map(|c| format!("{}={}({})", c.type_, c.status, c.reason))
        .collect();
    format!("[{}]", parts.join(" "))
}

pub(crate) fn condition(report: &StatusReport, e: &ExpectedCondition) -> Result<(), String> {
    let want = Cond {
        type_: e.type_.clone(),
        status: e.status.clone(),
        reason: e.reason.clone(),
    };
    let what = format!(
        "{} {}={}({})",
        e.kind,
        e.type_,
        e.status.as_deref().unwrap_or("*"),
        e.reason.as_deref().unwrap_or("*")
    );
    let object = report
        .find(&e.kind, e.namespace.as_deref(), &e.name)
        .ok_or_else(|| {
            format!(
                "{what}: no status for {}/{}",
                e.namespace.as_deref().unwrap_or(""),
                e.name
            )
        })?;
    let ok = match (&object.status, &e.parent, e.listener.as_deref()) {
        (Status::Route(r), Some(parent), _) => r.parents.iter().any(|p| {
            p.parent_ref.name == parent.name
                && p.parent_ref
                    .namespace
                    .as_ref()
                    .is_none_or(|ns| Some(ns) == parent.namespace.as_ref())
                && has(&p.conditions, &want)
        }),
        (Status::Policy(pol), Some(parent), _) => pol.ancestors.iter().any(|a| {
            a.ancestor_ref.name == parent.name
                && a.ancestor_ref
                    .namespace
                    .as_ref()
                    .is_none_or(|ns| Some(ns) == parent.namespace.as_ref())
                && has(&a.conditions, &want)
        }),
        (Status::Gateway(g), _, None) => has(&g.conditions, &want),
        (Status::Gateway(g), _, Some("*")) => {
            !g.listeners.is_empty() && g.listeners.iter().all(|l| has(&l.conditions, &want))
        }
        (Status::Gateway(g), _, Some(name)) => g
            .listeners
            .iter()
            .any(|l| l.name == name && has(&l.conditions, &want)),
        (Status::Class(c), _, _) => has(&c.conditions, &want),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        let actual: Vec<&Condition> = object.status.conditions();
        let actual: Vec<Condition> = actual.into_iter().cloned().collect();
        Err(format!(
            "{what} missing on {}; has {}",
            object.id,
            show(&actual)
        ))
    }
}

pub(crate) fn route_parents(
    report: &StatusReport,
    e: &ExpectedRouteParents,
    controller: &str,
) -> Result<(), String> {
    let parents = match report
        .find(&e.kind, Some(&e.namespace), &e.name)
        .map(|o| &o.status)
    {
        Some(Status::Route(r)) => r.parents.as_slice(),
        _ => &[],
    };
    if parents.len() != e.parents.len() {
        let names: Vec<String> = parents
            .iter()
            .map(|p| format!("{} {}", p.parent_ref.name, show(&p.conditions)))
            .collect();
        return Err(format!(
            "{} {}/{}: {} parents expected, found {}: {names:?}",
            e.kind,
            e.namespace,
            e.name,
            e.parents.len(),
            parents.len()
        ));
    }
    for (want, got) in e.parents.iter().zip(parents) {
        let ctrl = want
            .controller_name
            .replace("{GATEWAY_CONTROLLER_NAME}", controller);
        let r = &want.parent_ref;
        let ns_ok = match (&r.namespace, &got.parent_ref.namespace) {
            (Some(w), Some(g)) => w == g,
            (Some(_), None) => !e.namespace_required,
            (None, _) => true,
        };
        if got.controller_name != ctrl
            || r.group.as_ref().is_some_and(|g| *g != got.parent_ref.group)
            || r.kind.as_ref().is_some_and(|k| *k != got.parent_ref.kind)
            || r.name != got.parent_ref.name
            || !ns_ok
        {
            return Err(format!(
                "{} {}/{}: parent {} does not match {:?}",
                e.kind, e.namespace, e.name, r.name, got.parent_ref
            ));
        }
        for c in &want.conditions {
            if !has(&got.conditions, c) {
                return Err(format!(
                    "{} {}/{} parent {}: {}={}({}) missing; has {}",
                    e.kind,
                    e.namespace,
                    e.name,
                    r.name,
                    c.type_,
                    c.status.as_deref().unwrap_or("*"),
                    c.reason.as_deref().unwrap_or("*"),
                    show(&got.conditions)
                ));
            }
        }
    }
    Ok(())
}

pub(crate) fn listeners(report: &StatusReport, e: &ExpectedListeners) -> Result<(), String> {
    let gw = format!(
        "{}/{}",
        e.gateway.namespace.as_deref().unwrap_or(""),
        e.gateway.name
    );
    let Some(Status::Gateway(g)) = report
        .find("Gateway", e.gateway.namespace.as_deref(), &e.gateway.name)
        .map(|o| &o.status)
    else {
        return Err(format!("Gateway {gw}: no status"));
    };
    if g.listeners.len() != e.listeners.len() {
        return Err(format!(
            "Gateway {gw}: {} listeners expected, found {}",
            e.listeners.len(),
            g.listeners.len()
        ));
    }
    for want in &e.listeners {
        let got = g
            .listeners
            .iter()
            .find(|l| l.name == want.name)
            .ok_or_else(|| format!("Gateway {gw}: no listener {}", want.name))?;
        if want.supported_kinds.is_empty() && !got.supported_kinds.is_empty() {
            return Err(format!(
                "Gateway {gw} listener {}: supportedKinds should be empty",
                want.name
            ));
        }
        for k in &want.supported_kinds {
            if !got
                .supported_kinds
                .iter()
                .any(|g| g.kind == k.kind && k.group.as_ref().is_none_or(|gr| *gr == g.group))
            {
                return Err(format!(
                    "Gateway {gw} listener {}: supportedKinds lacks {}",
                    want.name, k.kind
                ));
            }
        }
        if got.attached_routes != want.attached_routes {
            return Err(format!(
                "Gateway {gw} listener {}: attachedRoutes {} expected, found {}",
                want.name, want.attached_routes, got.attached_routes
            ));
        }
        for c in &want.conditions {
            if !has(&got.conditions, c) {
                return Err(format!(
                    "Gateway {gw} listener {}: {}={}({}) missing; has {}",
                    want.name,
                    c.type_,
                    c.status.as_deref().unwrap_or("*"),
                    c.reason.as_deref().unwrap_or("*"),
                    show(&got.conditions)
                ));
            }
        }
    }
    Ok(())
}

/// `expected_status` checks. `before` is the snapshot of the previous phase (for
/// `GenerationChanged`).
pub(crate) fn other(
    report: &StatusReport,
    snapshot: &Snapshot,
    before: Option<&Snapshot>,
    e: &ExpectedStatus,
) -> Result<(), String> {
    let kind = e.kind.as_deref().unwrap_or("");
    let name = e.name.as_deref().unwrap_or("");
    let ns = e.namespace.as_deref();
    let find = || report.find(kind, ns, name);
    let generation_of = |s: &Snapshot| {
        s.resources()
            .find(|r| {
                r.kind() == kind
                    && r.metadata().name == name
                    && (ns.is_none() || r.metadata().namespace.as_deref() == ns)
            })
            .map(|r| r.metadata().generation)
    };
    match e.check.as_str() {
        "GatewayMustHaveAddress" => match find().map(|o| &o.status) {
            Some(Status::Gateway(g)) if !g.addresses.is_empty() => Ok(()),
            _ => Err(format!("Gateway {name}: no address in status")),
        },
        "GatewayMustHaveZeroRoutes" => match find().map(|o| &o.status) {
            Some(Status::Gateway(g))
                if g.listeners.is_empty()
                    || (g.listeners.len() == 1
                        && g.listeners.iter().all(|l| l.attached_routes == 0)) =>
            {
                Ok(())
            }
            _ => Err(format!("Gateway {name}: routes are attached")),
        },
        "HTTPRouteMustHaveNoAcceptedParents" => match find().map(|o| &o.status) {
            None => Ok(()),
            Some(Status::Route(r)) if r.parents.is_empty() => Ok(()),
            Some(Status::Route(r))
                if r.parents.len() == 1
                    && r.parents.iter().all(|p| {
                        p.conditions
                            .iter()
                            .any(|c| c.type_ == "Accepted" && c.status == "False")
                    }) =>
            {
                Ok(())
            }
            _ => Err(format!("{kind} {name}: has an accepted parent")),
        },
        "LatestObservedGeneration" => {
            let generation =
                generation_of(snapshot).ok_or_else(|| format!("{kind} {name}: no such object"))?;
            let object = find().ok_or_else(|| format!("{kind} {name}: no status"))?;
            let stale: Vec<String> = object
                .status
                .conditions()
                .iter()
                .filter(|c| c.observed_generation != generation)
                .map(|c| c.type_.clone())
                .collect();
            if stale.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{kind} {name}: conditions {stale:?} not at generation {generation}"
                ))
            }
        }
        "GenerationChanged" => {
            let now = generation_of(snapshot);
            let then = before.and_then(generation_of);
            if now.is_some() && now != then {
                Ok(())
            } else {
                Err(format!("{kind} {name}: generation did not change"))
            }
        }
        "NamespacesMustBeReady" => {
            for gw in &e.gateways {
                let Some(Status::Gateway(g)) =
                    report.find("Gateway", Some(name), gw).map(|o| &o.status)
                else {
                    return Err(format!("Gateway {name}/{gw}: no status"));
                };
                let generation = snapshot
                    .resources()
                    .find(|r| {
                        matches!(r, Resource::Gateway(_))
                            && r.metadata().name == *gw
                            && r.metadata().namespace.as_deref() == Some(name)
                    })
                    .map_or(1, |r| r.metadata().generation);
                for t in ["Accepted", "Programmed"] {
                    if !g.conditions.iter().any(|c| {
                        c.type_ == t && c.status == "True" && c.observed_generation == generation
                    }) {
                        return Err(format!(
                            "Gateway {name}/{gw}: not {t}: {}",
                            show(&g.conditions)
                        ));
                    }
                }
            }
            Ok(())
        }
        other => Err(format!("unknown check {other}")),
    }
}
