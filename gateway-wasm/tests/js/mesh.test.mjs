// The mesh (GAMMA) router through the JS API: `Router.mesh` builds it, requests name
// `client_namespace` and `destination`, and a destination no route applies to passes through.
// Parity: every mesh case of the corpus (../shared/conformance/cases-mesh), loaded through
// `Router.mesh`, gives byte for byte the decisions and status gateway-core computed natively
// (tests/parity.rs writes them to fixtures/parity-mesh.json).
//
// Run: gateway-wasm/build.sh && cargo test -p gateway-wasm --test parity &&
//      node --test gateway-wasm/tests/js/
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { Router } = require("../../pkg-node/gateway_wasm.js");

const MESH = `
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: app}
spec: {clusterIP: 10.96.0.7, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: echo-v2, namespace: app}
spec: {clusterIP: 10.96.0.9, ports: [{port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: echo, namespace: app}
spec:
  parentRefs: [{group: '', kind: Service, name: echo, port: 80}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /v2}}]
    backendRefs: [{name: echo-v2, port: 80}]
`;

const toEcho = (target, destination) => ({
  client_namespace: "app",
  destination,
  target,
  headers: [["host", "echo"]],
});

test("mesh: a Service destination, an address destination and a pass-through", () => {
  const router = Router.mesh(MESH, { mesh: true });
  try {
    assert.equal(router.isMesh, true);
    assert.equal(router.gateway, "");
    const byName = router.route(toEcho("/v2/a", { name: "echo", port: 80 }));
    assert.equal(byName.outcome, "forward");
    assert.deepEqual(byName.route, { kind: "HTTPRoute", namespace: "app", name: "echo" });
    assert.deepEqual(byName.backend, { namespace: "app", name: "echo-v2", port: 80 });
    const byAddress = router.route(toEcho("/v2", { address: "10.96.0.7" }));
    assert.deepEqual(byAddress.backend, byName.backend);
    assert.equal(router.route(toEcho("/v1", { name: "echo" })).outcome, "not_found");
    for (const destination of [{ address: "10.96.0.8" }, { name: "echo", port: 8080 },
                               { namespace: "app", name: "echo-v2" }]) {
      const d = router.route(toEcho("/v2", destination));
      assert.equal(d.outcome, "pass_through");
      assert.equal(d.status, null);
      assert.equal(d.route, null);
      assert.equal(d.backend, null);
      assert.ok(d.reason.length > 0);
    }
    const request = toEcho("/v2", { address: "10.96.0.8", port: 80 });
    assert.equal(JSON.stringify(router.route(request)), router.routeJson(JSON.stringify(request)));
  } finally {
    router.free();
  }
});

test("mesh: inputs are checked", () => {
  const router = Router.mesh(MESH, { mesh: true });
  try {
    assert.equal(router.route({ target: "/v2" }).outcome, "bad_request");
    const both = toEcho("/v2", { name: "echo", address: "10.96.0.7" });
    assert.equal(router.route(both).cause, "malformed_request");
    assert.throws(() => router.route(toEcho("/", { service: "echo" })), TypeError);
  } finally {
    router.free();
  }
  // Not ours without the option (and no XMesh); a Gateway's router refuses mesh inputs.
  assert.throws(() => Router.mesh(MESH), (e) => e instanceof Error && e.diagnostics.length === 0);
  assert.throws(() => Router.mesh(MESH, { mesh: "yes" }), TypeError);
  const shop = readFileSync(new URL("../../../examples/manifests/shop.yaml", import.meta.url),
                            "utf8");
  const gateway = Router.fromManifests(shop, "", "");
  try {
    assert.equal(gateway.isMesh, false);
    assert.equal(gateway.route(toEcho("/", { name: "echo" })).outcome, "bad_request");
  } finally {
    gateway.free();
  }
});

const fixture = JSON.parse(
  readFileSync(new URL("./fixtures/parity-mesh.json", import.meta.url), "utf8"),
);
const corpus = new URL("../../../../shared/conformance/", import.meta.url);

/** A request line as a plain object; `random` (a u64) as a bigint, exactly. */
function requestObject(line) {
  const object = JSON.parse(line);
  const random = /"random":(\d+)/.exec(line);
  if (random) object.random = BigInt(random[1]);
  return object;
}

let routed = 0;

for (const c of fixture.cases) {
  test(`mesh parity: ${c.name}`, () => {
    let text = "";
    for (const file of c.manifests) {
      const raw = readFileSync(new URL(`manifests/${file}`, corpus), "utf8");
      text += raw.replaceAll("{GATEWAY_CONTROLLER_NAME}", fixture.controller) + "\n---\n";
    }
    assert.equal(text, c.text, "the JS set-up builds another text");
    const router = Router.mesh(text, { controllerName: fixture.controller, mesh: true });
    try {
      assert.equal(router.status(), c.status);
      for (const { line, expected } of c.requests) {
        assert.equal(router.routeJson(line), expected, line);
        assert.equal(JSON.stringify(router.route(requestObject(line))), expected, line);
        routed += 1;
      }
    } finally {
      router.free();
    }
  });
}

test("mesh parity: every request line was routed", () => {
  const lines = fixture.cases.reduce((n, c) => n + c.requests.length, 0);
  assert.equal(fixture.cases.length, 15);
  assert.ok(lines >= 150);
  assert.equal(routed, lines);
  console.log(`# mesh parity: ${fixture.cases.length} cases, ${routed} request lines, twice each`);
});
