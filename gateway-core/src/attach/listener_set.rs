//! XListenerSet (GEP-1713, experimental in v1.4): admission by the parent Gateway's
//! `allowedListeners`, the merged listener list, and ListenerSet status.
//!
//! What the specification fixes, and where it is implemented here:
//! - Gateway `allowedListeners`: "While this feature is experimental, the default value is to
//!   allow no ListenerSets"; `from` is `None` (default), `Same`, `All` or `Selector`
//!   ([`admits`]). A set that is not admitted reports `Accepted=False` with `NotAllowed` and
//!   none of its listeners is served.
//! - ListenerSetSpec `listeners`: "Implementations MUST treat the parent Gateway as having the
//!   merged list of all listeners from itself and attached ListenerSets using the following
//!   precedence: 1. parent Gateway 2. ListenerSet ordered by creation time (oldest first)
//!   3. ListenerSet ordered alphabetically by {namespace}/{name}" ([`merge`]).
//! - GEP-1713 "Listener and ListenerSet conflicts": in a conflict across that list the earlier
//!   listener wins and only the later reports `Conflicted=True` (see `gateway::conflict`).
//!   Listener names need only be unique within one resource.
//! - GEP-1713 "Gateway Conditions": the Gateway's own `Accepted`/`Programmed` and
//!   `status.listeners` stay about its own listeners; the `AttachedListenerSets` condition
//!   reports whether sets are attached.
//! - GEP-1713 "Route Attachment": routes reach a set's listeners only through a parentRef to the
//!   set; a parentRef to the Gateway, even without `sectionName`, reaches the Gateway's own
//!   listeners only (see `route::attach_to_gateway`).
//!
//! Choices where the v1.4 text leaves room (each tested in `tests/api/listener_set.rs`):
//! - A set's listener is judged by the same code as a Gateway's: a conflicted one keeps
//!   `Accepted=True` and reports `Conflicted=True` (`HostnameConflict`/`ProtocolConflict`) and
//!   `Programmed=False` (`Invalid`). v1.4's ListenerEntry text also names `ListenerConflict` for
//!   a listener that shares port and hostname; we keep `HostnameConflict` there, as for Gateway
//!   listeners and as upstream's later ListenerSet conformance tests expect. Port 0 (dynamic assignment) is `Accepted=False` with
//!   `UnsupportedPort`, as ListenerEntry `port` requires of implementations without it.
//! - Set `Accepted`: `True`/`Accepted` when at least one listener is served;
//!   `False`/`ListenersNotValid` when none is; `False`/`ParentNotAccepted` when the Gateway is not
//!   accepted. `Programmed` follows, with `NotAllowed`, `ParentNotProgrammed` or
//!   `ListenersNotValid` when False (the reasons upstream's later conformance tests expect).
//! - A set that is not admitted, or whose Gateway is not accepted, lists no listener status.
//! - `AttachedListenerSets` is written when the Gateway admits sets (`True`/
//!   `ListenerSetsAttached` when at least one attached set is accepted, else `False`/
//!   `NoListenerSetsAttached`) or when a set asks a Gateway that admits none
//!   (`False`/`ListenerSetsNotAllowed`). A Gateway with no `allowedListeners` that no set names is
//!   left without the condition rather than given `Unknown`, so its status is what it was before
//!   ListenerSets existed.
//! - Sets whose parentRef names no Gateway of ours get no status: another controller may own
//!   them.
//! - A missing `creationTimestamp` sorts as the oldest, as it does for routes.
//! - `OverlappingTLSConfig` (GEP-3567) is computed over the merged list and reported on the
//!   sets' listeners; a Gateway's listeners report overlaps among themselves only.

use super::conditions::Conditions;
use super::gateway::{
    Owner, frontend_validation, listener_state, overlapping_condition, tls_overlap,
};
use super::refs::Grants;
use super::status::{GatewayStatus, ListenerEntryStatus, ListenerSetStatus, ObjectStatus, Status};
use super::{AttachOptions, GatewayState, ListenerSetState, selector_matches};
use crate::api::{
    FromNamespaces, GATEWAY_GROUP, Gateway, Listener, Resource, ResourceId, Snapshot,
    X_GATEWAY_GROUP, XListenerSet,
};

/// One XListenerSet that names a Gateway of ours: its state and its status.
pub(super) struct SetEntry {
    pub(super) state: ListenerSetState,
    pub(super) status: ObjectStatus,
}

/// Finds the XListenerSets of our Gateways, admits them, appends the listeners of admitted sets
/// to their Gateway in precedence order, and computes every set's status (attachedRoutes are
/// filled in by [`count_routes`]). Entries are in input order; a listener's `set` indexes them.
pub(super) fn merge(
    snapshot: &Snapshot,
    options: &AttachOptions,
    grants: &Grants<'_>,
    gateways: &mut [(usize, (GatewayState, GatewayStatus))],
) -> Vec<SetEntry> {
    // Every set whose parentRef resolves to one of our Gateways, in input order.
    let mut found: Vec<(&XListenerSet, usize)> = Vec::new();
    for resource in snapshot.resources() {
        let Resource::XListenerSet(set) = resource else {
            continue;
        };
        let parent = &set.spec.parent_ref;
        if parent.group != GATEWAY_GROUP || parent.kind != "Gateway" {
            continue;
        }
        let ns = set.metadata.namespace_or_default();
        let gw_ns = parent.namespace.as_deref().unwrap_or(ns);
        let gateway = gateways.iter().position(|(_, (g, _))| {
            g.id.name == parent.name && g.id.namespace.as_deref() == Some(gw_ns)
        });
        if let Some(gi) = gateway {
            found.push((set, gi));
        }
    }
    // Precedence among sets: creationTimestamp, then {namespace}/{name}.
    let mut order: Vec<usize> = (0..found.len()).collect();
    order.sort_by_key(|&k| {
        found.get(k).map(|(set, _)| {
            (
                set.metadata.creation_timestamp.clone().unwrap_or_default(),
                set.metadata.namespace_or_default().to_owned(),
                set.metadata.name.clone(),
            )
        })
    });

    let mut entries: Vec<Option<SetEntry>> = found.iter().map(|_| None).collect();
    for (gi, (gw_object, (gw_state, gw_status))) in gateways.iter_mut().enumerate() {
        let Some(Resource::Gateway(gw)) = snapshot.objects.get(*gw_object).map(|o| &o.resource)
        else {
            continue;
        };
        let gw_ns = gw.metadata.namespace_or_default();
        let gw_accepted = condition_true(gw_status, "Accepted");
        let gw_programmed = condition_true(gw_status, "Programmed");
        // The listeners ahead in the merged list.
        let mut earlier: Vec<&Listener> = gw.spec.listeners.iter().collect();
        let mut named = false;
        let mut attached = 0usize;
        for &k in &order {
            let Some(&(set, set_gi)) = found.get(k) else {
                continue;
            };
            if set_gi != gi {
                continue;
            }
            named = true;
            let ns = set.metadata.namespace_or_default();
            let c = Conditions {
                generation: set.metadata.generation,
                time: &options.transition_time,
            };
            let mut conditions = Vec::new();
            let mut listeners = Vec::new();
            let merged = admits(snapshot, gw, ns) && gw_accepted;
            if !admits(snapshot, gw, ns) {
                let why = format!(
                    "Gateway {gw_ns}/{} does not allow ListenerSets from namespace {ns}",
                    gw.metadata.name
                );
                conditions.push(c.make("Accepted", false, "NotAllowed", why.clone()));
                conditions.push(c.make("Programmed", false, "NotAllowed", why));
            } else if !gw_accepted {
                let why = format!("Gateway {gw_ns}/{} is not accepted", gw.metadata.name);
                conditions.push(c.make("Accepted", false, "ParentNotAccepted", why.clone()));
                conditions.push(c.make("Programmed", false, "ParentNotProgrammed", why));
            } else {
                let owner = Owner {
                    group: X_GATEWAY_GROUP,
                    kind: "XListenerSet",
                    namespace: ns,
                    name: &set.metadata.name,
                    set: Some(k),
                };
                let mut states = Vec::new();
                let mut statuses = Vec::new();
                for listener in &set.spec.listeners {
                    let (state, status) = listener_state(
                        snapshot,
                        owner,
                        listener,
                        &c,
                        grants,
                        &set.spec.listeners,
                        &earlier,
                    );
                    states.push(state);
                    statuses.push(status);
                }
                // Client-certificate validation is the Gateway's, per port: it binds the set's
                // HTTPS and TLS listeners on that port too.
                frontend_validation(snapshot, gw_ns, gw, &c, grants, &mut states, &mut statuses);
                if states.iter().any(|l| l.serving) {
                    attached += 1;
                    conditions.push(c.make("Accepted", true, "Accepted", "accepted"));
                    if gw_programmed {
                        conditions.push(c.make("Programmed", true, "Programmed", "programmed"));
                    } else {
                        conditions.push(c.make(
                            "Programmed",
                            false,
                            "ParentNotProgrammed",
                            format!("Gateway {gw_ns}/{} is not programmed", gw.metadata.name),
                        ));
                    }
                } else {
                    let why = "no listener of this ListenerSet is valid";
                    conditions.push(c.make("Accepted", false, "ListenersNotValid", why));
                    conditions.push(c.make("Programmed", false, "ListenersNotValid", why));
                }
                earlier.extend(set.spec.listeners.iter());
                gw_state.listeners.extend(states);
                listeners = set
                    .spec
                    .listeners
                    .iter()
                    .zip(statuses)
                    .map(|(spec, s)| ListenerEntryStatus {
                        name: s.name,
                        port: spec.port,
                        supported_kinds: s.supported_kinds,
                        attached_routes: 0,
                        conditions: s.conditions,
                    })
                    .collect();
            }
            let id = ResourceId::new("XListenerSet", Some(ns), &set.metadata.name);
            if let Some(slot) = entries.get_mut(k) {
                *slot = Some(SetEntry {
                    state: ListenerSetState {
                        id: id.clone(),
                        gateway: gi,
                        merged,
                    },
                    status: ObjectStatus {
                        id,
                        generation: set.metadata.generation,
                        status: Status::ListenerSet(ListenerSetStatus {
                            conditions,
                            listeners,
                        }),
                    },
                });
            }
        }
        // GEP-3567 `OverlappingTLSConfig` across the merged list, reported on the sets'
        // listeners only: the Gateway's status stays about its own listeners.
        for (k, slot) in entries.iter_mut().enumerate() {
            let Some(entry) = slot else { continue };
            let Some(&(set, _)) = found.get(k) else {
                continue;
            };
            if entry.state.gateway != gi || !entry.state.merged {
                continue;
            }
            let Status::ListenerSet(status) = &mut entry.status.status else {
                continue;
            };
            let c = Conditions {
                generation: set.metadata.generation,
                time: &options.transition_time,
            };
            let all = &gw_state.listeners;
            let mine = all.iter().enumerate().filter(|(_, l)| l.set == Some(k));
            for ((i, l), ls) in mine.zip(status.listeners.iter_mut()) {
                let overlaps = all
                    .iter()
                    .enumerate()
                    .any(|(j, other)| j != i && tls_overlap(&l.spec, &other.spec));
                if overlaps {
                    ls.conditions.push(overlapping_condition(&c));
                }
            }
        }
        attached_condition(options, gw, gw_status, named, attached);
    }
    // Every set of `found` names a Gateway of `gateways`, so every slot is filled and the
    // indices listeners carry in `set` stay valid.
    entries.into_iter().flatten().collect()
}

/// Gateway `allowedListeners.namespaces`: `None` (the default) admits no namespace, `Same` the
/// Gateway's, `All` every one, `Selector` those whose labels match (the same label-selector code
/// as `allowedRoutes`, with the implicit `kubernetes.io/metadata.name` label).
fn admits(snapshot: &Snapshot, gw: &Gateway, set_ns: &str) -> bool {
    let Some(namespaces) = gw
        .spec
        .allowed_listeners
        .as_ref()
        .and_then(|a| a.namespaces.as_ref())
    else {
        return false;
    };
    match &namespaces.from {
        FromNamespaces::All => true,
        FromNamespaces::Same => set_ns == gw.metadata.namespace_or_default(),
        FromNamespaces::Selector => namespaces.selector.as_ref().is_some_and(|selector| {
            let meta = snapshot.resources().find_map(|r| match r {
                Resource::Namespace(n) if n.metadata.name == set_ns => Some(&n.metadata),
                _ => None,
            });
            selector_matches(selector, set_ns, meta)
        }),
        _ => false,
    }
}

/// Whether the Gateway admits ListenerSets at all.
fn admits_any(gw: &Gateway) -> bool {
    gw.spec
        .allowed_listeners
        .as_ref()
        .and_then(|a| a.namespaces.as_ref())
        .is_some_and(|n| {
            matches!(
                n.from,
                FromNamespaces::All | FromNamespaces::Same | FromNamespaces::Selector
            )
        })
}

/// The Gateway's `AttachedListenerSets` condition (v1.4 `GatewayConditionAttachedListenerSets`).
fn attached_condition(
    options: &AttachOptions,
    gw: &Gateway,
    status: &mut GatewayStatus,
    named: bool,
    attached: usize,
) {
    let c = Conditions {
        generation: gw.metadata.generation,
        time: &options.transition_time,
    };
    let condition = if admits_any(gw) {
        if attached > 0 {
            c.make(
                "AttachedListenerSets",
                true,
                "ListenerSetsAttached",
                format!("{attached} ListenerSet(s) attached"),
            )
        } else {
            c.make(
                "AttachedListenerSets",
                false,
                "NoListenerSetsAttached",
                "no ListenerSet is attached",
            )
        }
    } else if named {
        c.make(
            "AttachedListenerSets",
            false,
            "ListenerSetsNotAllowed",
            "ListenerSets name this Gateway, whose allowedListeners admits none",
        )
    } else {
        return;
    };
    status.conditions.push(condition);
}

fn condition_true(status: &GatewayStatus, type_: &str) -> bool {
    status
        .conditions
        .iter()
        .any(|c| c.type_ == type_ && c.status == "True")
}

/// Fills each merged set's `attachedRoutes` from its listeners in the merged list.
pub(super) fn count_routes(
    gateways: &[(usize, (GatewayState, GatewayStatus))],
    sets: &mut [SetEntry],
) {
    for (k, entry) in sets.iter_mut().enumerate() {
        let Some((_, (gw, _))) = gateways.get(entry.state.gateway) else {
            continue;
        };
        let Status::ListenerSet(status) = &mut entry.status.status else {
            continue;
        };
        let states = gw.listeners.iter().filter(|l| l.set == Some(k));
        for (state, listener) in states.zip(status.listeners.iter_mut()) {
            listener.attached_routes = i32::try_from(state.routes.len()).unwrap_or(i32::MAX);
        }
    }
}
