// The JS API on the bundled example and on bad input: errors carry the field path, requests
// and decisions are plain objects, `route` and `routeJson` agree.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { Router, version } = require("../../pkg-node/gateway_wasm.js");

const shop = readFileSync(new URL("../../../examples/manifests/shop.yaml", import.meta.url), "utf8");
const cart = { method: "GET", target: "/cart", headers: [["host", "shop.example.com"]] };

test("routes a request object to the rule's backend", () => {
  const router = Router.fromManifests(shop, "", "");
  assert.equal(router.gateway, "shop/shop");
  const d = router.route(cart);
  assert.equal(d.outcome, "forward");
  assert.equal(d.status, null);
  assert.deepEqual(d.route, { kind: "HTTPRoute", namespace: "shop", name: "storefront" });
  assert.deepEqual(d.backend, { namespace: "shop", name: "web", port: 8080 });
  assert.equal(d.upstream.path, "/cart");
  assert.equal(d.reason, null);
});

test("route and routeJson give the same decision", () => {
  const router = Router.fromManifests(shop, "shop", "shop");
  for (const request of [
    cart,
    { target: "/api/items", headers: [["host", "shop.example.com"], ["x-api-version", "2"]] },
    { target: "/nowhere", headers: [["host", "other.test"]] },
    { target: "/a/../../etc", headers: [["host", "shop.example.com"]] },
    { port: 8080, headers: [["host", "shop.example.com"]] },
  ]) {
    assert.equal(JSON.stringify(router.route(request)), router.routeJson(JSON.stringify(request)));
  }
});

test("random may be a number or a bigint", () => {
  const router = Router.fromManifests(shop, "", "");
  const api = { target: "/api", headers: [["host", "shop.example.com"]] };
  assert.deepEqual(router.route({ ...api, random: 7 }), router.route({ ...api, random: 7n }));
  const max = router.route({ ...api, random: 18446744073709551615n });
  assert.equal(
    JSON.stringify(max),
    router.routeJson(JSON.stringify({ ...api }).replace("{", '{"random":18446744073709551615,')),
  );
});

test("not found, bad request and the JSON interface's outcomes", () => {
  const router = Router.fromManifests(shop, "", "");
  const notFound = router.route({ headers: [["host", "elsewhere.test"]] });
  assert.equal(notFound.outcome, "not_found");
  assert.equal(notFound.status, 404);
  assert.ok(notFound.reason.length > 0);
  const bad = router.route({ target: "/%2F", headers: [["host", "shop.example.com"]] });
  assert.equal(bad.outcome, "bad_request");
  assert.equal(bad.status, 400);
});

test("status is the JSON status report", () => {
  const router = Router.fromManifests(shop, "", "");
  const status = JSON.parse(router.status());
  assert.ok(JSON.stringify(status).includes("storefront"));
});

test("bad YAML throws an Error with diagnostics", () => {
  assert.throws(
    () => Router.fromManifests("kind: [unclosed\n", "", ""),
    (e) => e instanceof Error && e.message.startsWith("error") && e.diagnostics.length === 1,
  );
});

test("an invalid field throws with its path", () => {
  const bad = shop.replace("value: /checkout", "value: checkout");
  assert.throws(
    () => Router.fromManifests(bad, "", ""),
    (e) => {
      assert.match(e.message, /spec\.rules\[0\]\.matches\[0\]\.path/);
      const d = e.diagnostics.find((d) => d.severity === "error");
      assert.match(d.path, /^spec\.rules\[0\]\.matches\[0\]\.path/);
      assert.equal(d.resource, "HTTPRoute shop/storefront");
      assert.equal(typeof d.document, "number");
      return true;
    },
  );
});

test("an unknown or ambiguous Gateway throws", () => {
  assert.throws(() => Router.fromManifests(shop, "shop", "nope"), {
    message: "no Gateway shop/nope of our GatewayClasses; known: [shop/shop]",
  });
  assert.throws(
    () => Router.fromManifests(shop, "", "", { controllerName: "example.com/other" }),
    { message: "the manifests hold no Gateway of our GatewayClasses" },
  );
  const two = shop + "\n---\n" + shop.split("---").find((d) => d.includes("kind: Gateway\n")).replace("name: shop\n", "name: second\n");
  assert.throws(() => Router.fromManifests(two, "", ""), /several Gateways/);
});

test("unknown options throw a TypeError", () => {
  assert.throws(() => Router.fromManifests(shop, "", "", { controller: "x" }), TypeError);
  assert.throws(() => Router.fromManifests(shop, "", "", { addressPool: "x" }), TypeError);
  assert.equal(Router.fromManifests(shop, "", "", undefined).gateway, "shop/shop");
  assert.equal(Router.fromManifests(shop, "", "", null).gateway, "shop/shop");
});

test("invalid request JSON is a bad_request decision", () => {
  const router = Router.fromManifests(shop, "", "");
  for (const line of ["{", '{"bogus":1}', '{"port":"80"}', '{"headers":[["a"]]}', ""]) {
    const d = JSON.parse(router.routeJson(line));
    assert.equal(d.outcome, "bad_request", line);
    assert.equal(d.status, 400);
    assert.match(d.reason, /^invalid request JSON/);
  }
});

test("an invalid request object throws a TypeError", () => {
  const router = Router.fromManifests(shop, "", "");
  for (const request of [
    { bogus: 1 },
    { headers: "host: a" },
    { headers: [["a"]] },
    { port: 70000 },
    { random: -1 },
    [],
    null,
    5,
    "GET /",
  ]) {
    assert.throws(() => router.route(request), TypeError, JSON.stringify(request));
  }
});

test("external auth: the check to make, then the answer's outcome", () => {
  const auth = `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: gw}
spec: {controllerName: gateway.example.dev/gateway-core}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: default}
spec:
  gatewayClassName: gw
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app, namespace: default}
spec:
  parentRefs: [{name: edge}]
  rules:
  - filters:
    - type: ExternalAuth
      externalAuth: {protocol: HTTP, http: {}, backendRef: {name: auth, port: 9001}}
    backendRefs: [{name: web, port: 8080}]
---
{apiVersion: v1, kind: Service, metadata: {name: web, namespace: default}, spec: {ports: [{port: 8080}]}}
---
{apiVersion: v1, kind: Service, metadata: {name: auth, namespace: default}, spec: {ports: [{port: 9001}]}}
`;
  const router = Router.fromManifests(auth, "", "");
  const request = { target: "/x", headers: [["host", "a.test"], ["authorization", "t"]] };
  const required = router.route(request);
  assert.equal(required.outcome, "auth_required");
  assert.equal(required.ext_auth.protocol, "HTTP");
  assert.deepEqual(required.ext_auth.backend, { namespace: "default", name: "auth", port: 9001 });
  const allowed = router.route({ ...request, ext_auth_response: { status: 200 } });
  assert.equal(allowed.outcome, "forward");
  const denied = router.route({ ...request, ext_auth_response: { status: 401, headers: [["x-why", "no"]] } });
  assert.equal(denied.outcome, "auth_denied");
  assert.equal(denied.status, 401);
  const timeout = router.route({ ...request, ext_auth_response: { timeout: true } });
  assert.equal(timeout.outcome, "auth_denied");
  assert.equal(timeout.status, 403);
  for (const r of [request, { ...request, ext_auth_response: { unreachable: true } }]) {
    assert.equal(JSON.stringify(router.route(r)), router.routeJson(JSON.stringify(r)));
  }
});

test("version() and package.json carry the workspace's Cargo version", () => {
  const cargo = readFileSync(new URL("../../../Cargo.toml", import.meta.url), "utf8");
  const workspace = cargo.match(/^\[workspace\.package\]\n(?:[^[].*\n)*?version = "([^"]+)"/m);
  assert.ok(workspace, "Cargo.toml has [workspace.package] version");
  assert.equal(require("../../pkg-node/package.json").version, workspace[1]);
  assert.equal(version(), workspace[1]);
});
