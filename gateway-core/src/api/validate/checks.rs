//! Field checks shared by every kind: the CRDs' string types as a table of rules, item counts,
//! integer ranges, enum values, object references and list-map key uniqueness.

use std::collections::HashMap;
use std::hash::Hash;

use super::Cx;
use super::names;
use super::path::FieldPath;
use crate::api::{
    BackendObjectReference, LocalObjectReference, ObjectMeta, ObjectReference, ParentReference,
    SecretObjectReference,
};

/// A CRD string type: its length bounds (in characters) and pattern.
#[derive(Clone, Copy)]
pub(super) struct StringRule {
    min: usize,
    max: usize,
    pattern: Option<Pattern>,
}

/// A pattern and how to describe a value that fails it.
#[derive(Clone, Copy)]
struct Pattern {
    matches: fn(&str) -> bool,
    expected: &'static str,
}

const fn rule(
    min: usize,
    max: usize,
    matches: fn(&str) -> bool,
    expected: &'static str,
) -> StringRule {
    StringRule {
        min,
        max,
        pattern: Some(Pattern { matches, expected }),
    }
}

const fn length(min: usize, max: usize) -> StringRule {
    StringRule {
        min,
        max,
        pattern: None,
    }
}

impl StringRule {
    /// Only a maximum length.
    pub(super) const fn max(max: usize) -> Self {
        length(0, max)
    }

    /// Only length bounds.
    pub(super) const fn length(min: usize, max: usize) -> Self {
        length(min, max)
    }
}

const SUBDOMAIN: &str = "a lowercase RFC 1123 subdomain (labels of [a-z0-9-] separated by \".\", \
                         starting and ending with an alphanumeric character)";

/// `Hostname`: an optional `*.` wildcard label, then lowercase RFC 1123 labels.
pub(super) const HOSTNAME: StringRule = rule(
    1,
    253,
    names::is_hostname,
    "a valid hostname: lowercase RFC 1123 labels separated by \".\", with an optional leading \"*.\" \
     wildcard label",
);
/// `PreciseHostname`: a hostname without wildcard.
pub(super) const PRECISE_HOSTNAME: StringRule = rule(
    1,
    253,
    names::is_dns_subdomain,
    "a valid hostname without wildcard: lowercase RFC 1123 labels separated by \".\"",
);
/// `SectionName`, also the pattern of listener and rule names.
pub(super) const SECTION_NAME: StringRule = rule(1, 253, names::is_dns_subdomain, SUBDOMAIN);
/// `ObjectName`.
pub(super) const OBJECT_NAME: StringRule = length(1, 253);
/// `Namespace`: an RFC 1123 label.
pub(super) const NAMESPACE: StringRule = rule(
    1,
    63,
    names::is_dns_label,
    "a lowercase RFC 1123 label ([a-z0-9-], starting and ending with an alphanumeric character)",
);
/// `Group`: empty (the core group) or a subdomain.
pub(super) const GROUP: StringRule = rule(
    0,
    253,
    names::is_group,
    "empty or a lowercase RFC 1123 subdomain",
);
/// `Kind`.
pub(super) const KIND: StringRule = rule(
    1,
    63,
    names::is_kind,
    "a valid kind ([a-zA-Z0-9-], starting with a letter and ending with an alphanumeric character)",
);
/// `HTTPHeaderName`, also the pattern of query parameter names.
pub(super) const HEADER_NAME: StringRule = rule(
    1,
    256,
    names::is_header_name,
    "a valid header name (RFC 7230 token characters [A-Za-z0-9!#$%&'*+-.^_`|~])",
);
/// `GatewayController`.
pub(super) const CONTROLLER_NAME: StringRule = rule(
    1,
    253,
    names::is_controller_name,
    "a domain-prefixed path such as \"example.com/gateway-controller\"",
);
/// `ProtocolType`.
pub(super) const PROTOCOL: StringRule = rule(
    1,
    255,
    names::is_protocol,
    "a protocol name ([a-zA-Z0-9-]) or a domain-prefixed one such as \"example.com/proto\"",
);
/// `AddressType`.
pub(super) const ADDRESS_TYPE: StringRule = rule(
    1,
    253,
    names::is_address_type,
    "Hostname, IPAddress, NamedAddress or a domain-prefixed type",
);
/// An `HTTPPathMatch` value, an external auth path: HTTP path characters.
pub(super) const PATH_CHARS: StringRule = rule(
    0,
    1024,
    names::is_path_chars,
    "made of valid path characters (matching ^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$)",
);
/// A header value of a match or modifier.
pub(super) const HEADER_VALUE: StringRule = length(1, 4096);

/// Checks a string against a rule: its length, then its pattern.
pub(super) fn string(cx: &mut Cx<'_>, path: FieldPath<'_>, value: &str, rule: StringRule) {
    let chars = value.chars().count();
    if chars < rule.min {
        let message = if chars == 0 {
            "must not be empty".to_owned()
        } else {
            format!("at least {} characters", rule.min)
        };
        cx.error(path, message);
        return;
    }
    if chars > rule.max {
        cx.error(
            path,
            format!("at most {} characters, found {chars}", rule.max),
        );
    }
    if let Some(pattern) = rule.pattern
        && !(pattern.matches)(value)
    {
        cx.error(
            path,
            format!("must be {}, found {}", pattern.expected, shown(value)),
        );
    }
}

/// A value quoted for a message, cut after 64 characters.
pub(super) fn shown(value: &str) -> String {
    match value.char_indices().nth(64) {
        Some((end, _)) => format!("{:?}...", value.get(..end).unwrap_or_default()),
        None => format!("{value:?}"),
    }
}

/// Checks an optional string against a rule when it is set.
pub(super) fn opt_string(
    cx: &mut Cx<'_>,
    path: FieldPath<'_>,
    value: Option<&str>,
    rule: StringRule,
) {
    if let Some(value) = value {
        string(cx, path, value, rule);
    }
}

/// Checks the length of a list.
pub(super) fn items(cx: &mut Cx<'_>, path: FieldPath<'_>, len: usize, min: usize, max: usize) {
    if len < min {
        cx.error(
            path,
            format!("at least {min} {}", if min == 1 { "item" } else { "items" }),
        );
    } else if len > max {
        cx.error(path, format!("at most {max} items, found {len}"));
    }
}

/// Checks the number of entries of a map.
pub(super) fn properties(cx: &mut Cx<'_>, path: FieldPath<'_>, len: usize, max: usize) {
    if len > max {
        cx.error(path, format!("at most {max} entries, found {len}"));
    }
}

/// Checks that an integer lies in `min..=max`.
pub(super) fn range(cx: &mut Cx<'_>, path: FieldPath<'_>, value: i64, min: i64, max: i64) {
    if value < min || value > max {
        cx.error(
            path,
            format!("must be between {min} and {max}, found {value}"),
        );
    }
}

/// Checks that an integer is at least `min`.
pub(super) fn at_least(cx: &mut Cx<'_>, path: FieldPath<'_>, value: i64, min: i64) {
    if value < min {
        cx.error(path, format!("must be at least {min}, found {value}"));
    }
}

/// Checks a port number (1 to 65535).
pub(super) fn port(cx: &mut Cx<'_>, path: FieldPath<'_>, value: Option<i32>) {
    if let Some(value) = value {
        range(cx, path, value.into(), 1, 65535);
    }
}

/// Warns about an enum value this version does not know: the CRD's enum rejects it, but the
/// loader keeps it so that later stages can report `UnsupportedValue`. An empty value of a
/// required enum is an error.
pub(super) fn known_enum(
    cx: &mut Cx<'_>,
    path: FieldPath<'_>,
    value: &str,
    known: bool,
    allowed: &[&str],
) {
    if known {
        return;
    }
    if value.is_empty() {
        cx.error(path, "required");
    } else {
        cx.warning(path, unsupported(value, allowed));
    }
}

/// The message of an enum value outside `allowed`.
pub(super) fn unsupported(value: &str, allowed: &[&str]) -> String {
    format!(
        "unsupported value {}; allowed values: {}",
        shown(value),
        allowed.join(", ")
    )
}

/// Indices `(earlier, later)` of list items whose keys repeat an earlier item's key.
pub(super) fn repeats<K: Eq + Hash>(keys: impl IntoIterator<Item = K>) -> Vec<(usize, usize)> {
    let mut first = HashMap::new();
    let mut out = Vec::new();
    for (i, key) in keys.into_iter().enumerate() {
        match first.get(&key) {
            Some(&earlier) => out.push((earlier, i)),
            None => {
                first.insert(key, i);
            }
        }
    }
    out
}

/// Reports exact duplicates of a `listType=set` list of strings, at the repeated item.
pub(super) fn set_items(cx: &mut Cx<'_>, path: FieldPath<'_>, values: &[String]) {
    for (earlier, later) in repeats(values.iter()) {
        let value = values.get(later).map(String::as_str).unwrap_or_default();
        cx.error(
            path.index(later),
            format!("duplicate value {} (same as [{earlier}])", shown(value)),
        );
    }
}

/// Checks a `BackendObjectReference`; a Service in the core group needs a port
/// (CEL: "Must have port for Service reference").
pub(super) fn backend_ref(cx: &mut Cx<'_>, path: FieldPath<'_>, r: &BackendObjectReference) {
    string(cx, path.field("group"), &r.group, GROUP);
    string(cx, path.field("kind"), &r.kind, KIND);
    string(cx, path.field("name"), &r.name, OBJECT_NAME);
    opt_string(
        cx,
        path.field("namespace"),
        r.namespace.as_deref(),
        NAMESPACE,
    );
    port(cx, path.field("port"), r.port);
    if r.group.is_empty() && r.kind == "Service" && r.port.is_none() {
        cx.error(path.field("port"), "required for a Service reference");
    }
}

/// Checks a `SecretObjectReference`.
pub(super) fn secret_ref(cx: &mut Cx<'_>, path: FieldPath<'_>, r: &SecretObjectReference) {
    string(cx, path.field("group"), &r.group, GROUP);
    string(cx, path.field("kind"), &r.kind, KIND);
    string(cx, path.field("name"), &r.name, OBJECT_NAME);
    opt_string(
        cx,
        path.field("namespace"),
        r.namespace.as_deref(),
        NAMESPACE,
    );
}

/// Checks an `ObjectReference` (group, kind, name and an optional namespace).
pub(super) fn object_ref(cx: &mut Cx<'_>, path: FieldPath<'_>, r: &ObjectReference) {
    string(cx, path.field("group"), &r.group, GROUP);
    string(cx, path.field("kind"), &r.kind, KIND);
    string(cx, path.field("name"), &r.name, OBJECT_NAME);
    opt_string(
        cx,
        path.field("namespace"),
        r.namespace.as_deref(),
        NAMESPACE,
    );
}

/// Checks a `LocalObjectReference`.
pub(super) fn local_ref(cx: &mut Cx<'_>, path: FieldPath<'_>, r: &LocalObjectReference) {
    string(cx, path.field("group"), &r.group, GROUP);
    string(cx, path.field("kind"), &r.kind, KIND);
    string(cx, path.field("name"), &r.name, OBJECT_NAME);
}

/// Checks the fields of one `ParentReference`.
pub(super) fn parent_ref(cx: &mut Cx<'_>, path: FieldPath<'_>, r: &ParentReference) {
    string(cx, path.field("group"), &r.group, GROUP);
    string(cx, path.field("kind"), &r.kind, KIND);
    opt_string(
        cx,
        path.field("namespace"),
        r.namespace.as_deref(),
        NAMESPACE,
    );
    string(cx, path.field("name"), &r.name, OBJECT_NAME);
    opt_string(
        cx,
        path.field("sectionName"),
        r.section_name.as_deref(),
        SECTION_NAME,
    );
    port(cx, path.field("port"), r.port);
}

/// Which Kubernetes name rules `metadata.name` follows.
#[derive(Clone, Copy)]
pub(super) enum ObjectMetaKind {
    /// An RFC 1123 subdomain (custom resources, Secrets, ConfigMaps).
    Subdomain,
    /// An RFC 1123 label (Namespaces).
    Label,
    /// An RFC 1035 label (Services).
    Dns1035Label,
}

/// Checks `metadata.name` and `metadata.namespace` as the API server does for every object.
pub(super) fn metadata(cx: &mut Cx<'_>, meta: &ObjectMeta, kind: ObjectMetaKind) {
    let name_rule = match kind {
        ObjectMetaKind::Subdomain => SECTION_NAME,
        ObjectMetaKind::Label => NAMESPACE,
        ObjectMetaKind::Dns1035Label => rule(
            1,
            63,
            names::is_dns1035_label,
            "a lowercase RFC 1035 label ([a-z0-9-], starting with a letter and ending with an alphanumeric character)",
        ),
    };
    string(cx, FieldPath::root("metadata.name"), &meta.name, name_rule);
    opt_string(
        cx,
        FieldPath::root("metadata.namespace"),
        meta.namespace.as_deref(),
        NAMESPACE,
    );
}
