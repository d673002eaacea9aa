// Timeouts, retries, retry budgets and session persistence through the JS API: `routeJson`
// and `route` give byte for byte the decisions gateway-core computed natively for
// examples/traffic/traffic.yaml (tests/parity.rs writes them to fixtures/parity-traffic.json),
// and the decision objects carry the fields a proxy executes. The fixture's session tokens
// were issued natively: read at the line's `now`, a token pins its backendRef (the cart's
// weight-0 version included).
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
  readFileSync(new URL("./fixtures/parity-traffic.json", import.meta.url), "utf8"),
);
const router = Router.fromManifests(fixture.manifests, "", "");

test("routeJson: every line gives the native decision", () => {
  for (const { line, decision } of fixture.cases) {
    assert.equal(router.routeJson(line), decision, line);
  }
});

test("route: every request object gives the native decision", () => {
  for (const { line, decision } of fixture.cases) {
    const request = JSON.parse(line);
    if (request.random !== undefined) request.random = BigInt(request.random);
    assert.equal(JSON.stringify(router.route(request)), decision, line);
  }
});

test("route: a rule's own cookie session, timeouts and retry policy", () => {
  const d = router.route({ target: "/cart", headers: [["host", "shop.example.com"]] });
  assert.equal(d.outcome, "forward");
  assert.deepEqual(d.timeouts, { request_ms: 10000, backend_request_ms: 2000 });
  assert.deepEqual(d.retry, { codes: [502, 503], attempts: 2, backoff_ms: 100, budget: null });
  assert.equal(d.session.kind, "cookie");
  assert.equal(d.session.name, "cart");
  assert.equal(d.session.lifetime, "permanent");
  assert.equal(d.session.absolute_timeout_ms, 8 * 3600 * 1000);
  assert.equal(d.session.source, "rule");
});

test("route: a backend policy's header session and retry budget", () => {
  const d = router.route({ target: "/catalog", headers: [["host", "shop.example.com"]] });
  assert.deepEqual(d.retry.budget, {
    percent: 25,
    interval_ms: 10000,
    min_retries: 5,
    min_retry_interval_ms: 1000,
  });
  assert.equal(d.session.kind, "header");
  assert.equal(d.session.name, "x-catalog-session");
  assert.equal(d.session.idle_timeout_ms, 30 * 60 * 1000);
  assert.equal(d.session.policy, "shop/catalog");
});
