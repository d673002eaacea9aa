// TLS decisions in the JS package: the requests tests/tls.rs wrote (client chains signed by
// the port's CA or another, expired or for the wrong usage, missing; sessions resumed from
// another port; backend chains for the policy's name or another, or from another CA) are
// routed through the Node package over the same manifests, with `routeJson` and `route`, and
// every decision must equal the native one byte for byte: certificates are verified in
// WebAssembly as natively (gateway-core's `tls` feature, ring built with clang).
//
// Run: gateway-wasm/build.sh && cargo test -p gateway-wasm --test tls &&
//      node --test gateway-wasm/tests/js/
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { Router } = require("../../pkg-node/gateway_wasm.js");

const fixture = JSON.parse(readFileSync(new URL("./fixtures/tls.json", import.meta.url), "utf8"));

test("TLS requests: WebAssembly decisions and verdicts equal the native ones", () => {
  assert.ok(fixture.lines.length >= 10, `${fixture.lines.length} TLS requests`);
  const router = Router.fromManifests(fixture.manifests, "", "");
  const verdicts = new Set();
  fixture.lines.forEach((line, i) => {
    assert.equal(router.routeJson(line), fixture.decisions[i], `routeJson: ${line}`);
    const decision = router.route(JSON.parse(line));
    assert.equal(JSON.stringify(decision), fixture.decisions[i], `route: ${line}`);
    const tls = decision.frontend_tls?.client_certificate ?? decision.backend_certificate;
    if (tls) verdicts.add(tls.verdict);
  });
  // Verified here, not reported as unavailable.
  assert.deepEqual([...verdicts].sort(), ["invalid", "valid"]);
  router.free();
});

test("TLS requests: an unknown field of `tls` is a TypeError", () => {
  const router = Router.fromManifests(fixture.manifests, "", "");
  assert.throws(
    () => router.route({ target: "/", tls: { client_chain: "x" } }),
    (e) => e instanceof TypeError && /unknown field `client_chain`/.test(e.message),
  );
  router.free();
});
