// TLS, TCP and UDP connections through the JS API: `routeL4({transport, port, sni, random})`
// and `routeJson` with a `transport` line give byte for byte the decisions gateway-core
// computed natively for examples/l4/l4.yaml (tests/parity.rs writes them to
// fixtures/parity-l4.json), and a connection object with an HTTP field is a TypeError.
//
// Run: gateway-wasm/build.sh && cargo test -p gateway-wasm --test parity &&
//      node --test gateway-wasm/tests/js/
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { Router } = require("../../pkg-node/gateway_wasm.js");

const fixture = JSON.parse(
  readFileSync(new URL("./fixtures/parity-l4.json", import.meta.url), "utf8"),
);
const router = Router.fromManifests(fixture.manifests, "", "");

test("routeJson: every L4 line gives the native decision", () => {
  for (const { line, decision } of fixture.cases) {
    assert.equal(router.routeJson(line), decision, line);
  }
});

test("routeL4: every connection object gives the native decision", () => {
  for (const { line, decision } of fixture.cases) {
    assert.equal(JSON.stringify(router.routeL4(JSON.parse(line))), decision, line);
  }
});

test("routeL4: the decision names the TLSRoute and the backend", () => {
  const d = router.routeL4({ transport: "tls", port: 8443, sni: "db.example.com" });
  assert.equal(d.outcome, "forward");
  assert.equal(d.transport, "tls");
  assert.equal(d.status, null);
  assert.deepEqual(d.route, { kind: "TLSRoute", namespace: "edge", name: "db" });
  assert.deepEqual(d.backend, { namespace: "edge", name: "db", port: 5432 });
});

test("routeL4: HTTP fields and wrong types are TypeErrors", () => {
  assert.throws(() => router.routeL4({ transport: "tcp", port: 9000, method: "GET" }), TypeError);
  assert.throws(() => router.routeL4({ transport: "tcp", port: "9000" }), TypeError);
  assert.throws(() => router.routeL4([]), TypeError);
});
