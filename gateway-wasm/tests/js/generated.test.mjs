// The WebAssembly half of the native-vs-WebAssembly property: the requests tests/generated.rs
// generated (at least 10,000) are routed through the Node package over the same manifests,
// and every decision must equal the native one byte for byte.
//
// Run: gateway-wasm/build.sh && cargo test -p gateway-wasm --test generated &&
//      node --test gateway-wasm/tests/js/
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { Router } = require("../../pkg-node/gateway_wasm.js");

const fixture = JSON.parse(
  readFileSync(new URL("./fixtures/generated.json", import.meta.url), "utf8"),
);

test("generated requests: WebAssembly decisions equal the native ones", () => {
  assert.ok(fixture.lines.length >= 10000, `${fixture.lines.length} generated requests`);
  const router = Router.fromManifests(fixture.manifests, "shop", "shop");
  let differing = 0;
  let first = null;
  fixture.lines.forEach((line, i) => {
    const decision = router.routeJson(line);
    if (decision !== fixture.decisions[i]) {
      differing += 1;
      first ??= { line, wasm: decision, native: fixture.decisions[i] };
    }
  });
  router.free();
  assert.equal(differing, 0, `first difference: ${JSON.stringify(first)}`);
});
