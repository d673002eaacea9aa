//! The case file format of the conformance corpus (see its README); only what the replay reads.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
pub(crate) struct Case {
    pub(crate) name: String,
    /// `mesh` for the mesh (GAMMA) cases; absent for the gateway profile.
    #[serde(default)]
    pub(crate) profile: Option<String>,
    #[serde(default)]
    pub(crate) features: Vec<String>,
    pub(crate) manifests: Vec<String>,
    #[serde(default)]
    pub(crate) expected_conditions: Vec<ExpectedCondition>,
    #[serde(default)]
    pub(crate) expected_route_parents: Vec<ExpectedRouteParents>,
    #[serde(default)]
    pub(crate) expected_listeners: Vec<ExpectedListeners>,
    #[serde(default)]
    pub(crate) expected_status: Vec<ExpectedStatus>,
    #[serde(default)]
    pub(crate) mutations: Vec<Mutation>,
    #[serde(default)]
    pub(crate) requests: Vec<RequestCase>,
    #[serde(default)]
    pub(crate) expressed: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct NsName {
    pub(crate) namespace: Option<String>,
    pub(crate) name: String,
    #[serde(default, rename = "sectionName")]
    #[allow(dead_code)] // recorded for information; upstream does not compare it
    pub(crate) section_name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ExpectedCondition {
    pub(crate) kind: String,
    pub(crate) namespace: Option<String>,
    pub(crate) name: String,
    pub(crate) parent: Option<NsName>,
    pub(crate) listener: Option<String>,
    #[serde(rename = "type")]
    pub(crate) type_: String,
    pub(crate) status: Option<String>,
    pub(crate) reason: Option<String>,
    pub(crate) phase: usize,
    pub(crate) subtest: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Cond {
    #[serde(rename = "type")]
    pub(crate) type_: String,
    pub(crate) status: Option<String>,
    pub(crate) reason: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ExpectedParentRef {
    pub(crate) group: Option<String>,
    pub(crate) kind: Option<String>,
    pub(crate) namespace: Option<String>,
    pub(crate) name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExpectedParent {
    pub(crate) parent_ref: ExpectedParentRef,
    pub(crate) controller_name: String,
    pub(crate) conditions: Vec<Cond>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ExpectedRouteParents {
    pub(crate) kind: String,
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) parents: Vec<ExpectedParent>,
    pub(crate) namespace_required: bool,
    pub(crate) phase: usize,
    pub(crate) subtest: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ExpectedKind {
    pub(crate) group: Option<String>,
    pub(crate) kind: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExpectedListener {
    pub(crate) name: String,
    pub(crate) supported_kinds: Vec<ExpectedKind>,
    pub(crate) attached_routes: i32,
    pub(crate) conditions: Vec<Cond>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ExpectedListeners {
    pub(crate) gateway: NsName,
    pub(crate) listeners: Vec<ExpectedListener>,
    pub(crate) phase: usize,
    pub(crate) subtest: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ExpectedStatus {
    pub(crate) check: String,
    pub(crate) kind: Option<String>,
    pub(crate) namespace: Option<String>,
    pub(crate) name: Option<String>,
    /// Gateway names in namespace `name` (for `NamespacesMustBeReady`).
    #[serde(default)]
    pub(crate) gateways: Vec<String>,
    pub(crate) phase: usize,
    pub(crate) subtest: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Mutation {
    pub(crate) phase: usize,
    pub(crate) op: String,
    pub(crate) kind: String,
    pub(crate) namespace: Option<String>,
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) changes: Vec<Change>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Change {
    pub(crate) op: String,
    #[serde(default)]
    pub(crate) path: String,
    #[serde(default)]
    pub(crate) value: Value,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RequestCase {
    /// The Gateway addressed; absent in mesh cases.
    #[serde(default)]
    pub(crate) gateway: NsName,
    /// Mesh cases: the client pod that sends the request.
    #[serde(default)]
    pub(crate) client: Option<MeshClient>,
    /// Mesh cases: where the request goes (a Service, or a Pod addressed by IP).
    #[serde(default)]
    pub(crate) destination: Option<MeshDestination>,
    pub(crate) protocol: String,
    pub(crate) port: u16,
    pub(crate) request: Request,
    pub(crate) grpc: Option<Grpc>,
    pub(crate) expect: Expect,
    #[serde(default)]
    pub(crate) backend_response: Option<BackendResponse>,
    pub(crate) unexpressed: Option<Value>,
    pub(crate) phase: usize,
    pub(crate) subtest: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) host: Option<String>,
    pub(crate) path: String,
    #[serde(default)]
    pub(crate) headers: serde_json::Map<String, Value>,
    pub(crate) sni: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Grpc {
    pub(crate) service: String,
    pub(crate) method: String,
    #[serde(default)]
    pub(crate) metadata: serde_json::Map<String, Value>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Expect {
    pub(crate) status: Value,
    #[serde(default)]
    pub(crate) failure: bool,
    pub(crate) backend: Option<ExpectedBackend>,
    pub(crate) backend_request: Option<BackendRequest>,
    pub(crate) response: Option<Response>,
    pub(crate) redirect: Option<Redirect>,
    pub(crate) mirrored_to: Option<Vec<Mirrored>>,
    #[serde(default)]
    pub(crate) mirror_distribution: Option<MirrorDistribution>,
    pub(crate) distribution: Option<Distribution>,
    pub(crate) grpc_status: Option<String>,
    /// `backend_request` was derived from the request, not stated by upstream.
    #[serde(default)]
    pub(crate) backend_request_implicit: bool,
}

/// The client of a mesh request.
#[derive(Debug, Deserialize)]
pub(crate) struct MeshClient {
    pub(crate) namespace: String,
}

/// Where a mesh request goes, as the corpus resolved it.
#[derive(Debug, Deserialize)]
pub(crate) struct MeshDestination {
    pub(crate) kind: String,
    pub(crate) namespace: String,
    /// The Service (kind `Service`).
    #[serde(default)]
    pub(crate) name: Option<String>,
    /// The Deployment of the Pod (kind `Pod`).
    #[serde(default)]
    pub(crate) app: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct BackendRequest {
    pub(crate) method: Option<String>,
    pub(crate) host: Option<String>,
    pub(crate) path: Option<String>,
    #[serde(default)]
    pub(crate) headers: serde_json::Map<String, Value>,
    #[serde(default)]
    pub(crate) absent_headers: Vec<String>,
    /// The TLS server name the backend must see.
    pub(crate) sni: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Response {
    #[serde(default)]
    pub(crate) headers: serde_json::Map<String, Value>,
    #[serde(default)]
    pub(crate) absent_headers: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Redirect {
    pub(crate) scheme: Option<String>,
    pub(crate) host: Option<String>,
    pub(crate) port: Option<Value>,
    pub(crate) path: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Mirrored {
    pub(crate) namespace: Option<String>,
    pub(crate) name: String,
    /// Only this share of requests is mirrored.
    #[serde(default)]
    pub(crate) percent: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct MirrorDistribution {
    pub(crate) samples: u32,
    pub(crate) relative_tolerance_percent: f64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Distribution {
    pub(crate) samples: u32,
    pub(crate) tolerance: f64,
    pub(crate) backends: serde_json::Map<String, Value>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ExpectedBackend {
    pub(crate) namespace: Option<String>,
    /// A prefix of the serving pod's name; null means any pod of the namespace.
    pub(crate) name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct BackendResponse {
    #[serde(default)]
    pub(crate) headers: serde_json::Map<String, Value>,
}
