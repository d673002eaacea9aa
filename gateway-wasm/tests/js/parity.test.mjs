// The whole conformance corpus (../shared/conformance) through the JS API, with the same
// results as the Rust API: for every case and phase, the manifests are loaded exactly as
// `gateway replay` loads them (placeholders, the replay's GatewayClass, the programmatic
// Secrets and ConfigMaps), and every request case's decision, from `routeJson` and from
// `route`, and the status must equal byte for byte what gateway-core computed natively
// (tests/parity.rs writes them to fixtures/parity.json).
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
  readFileSync(new URL("./fixtures/parity.json", import.meta.url), "utf8"),
);
const corpus = new URL("../../../../shared/conformance/", import.meta.url);
const options = { controllerName: fixture.controller, addressPool: [fixture.usable_address] };

/** The case's manifests as one text, built as gateway-cli/src/replay/setup.rs builds them. */
function caseText(manifests) {
  let text =
    "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\n" +
    `metadata: {name: ${fixture.class}}\nspec: {controllerName: ${fixture.controller}}\n---\n`;
  for (const file of manifests) {
    const raw = readFileSync(new URL(`manifests/${file}`, corpus), "utf8");
    text += raw
      .replaceAll("{GATEWAY_CLASS_NAME}", fixture.class)
      .replaceAll("{GATEWAY_CONTROLLER_NAME}", fixture.controller)
      .replaceAll("PLACEHOLDER_USABLE_ADDRS", fixture.usable_address)
      .replaceAll("PLACEHOLDER_UNUSABLE_ADDRS", fixture.unusable_address);
    text += "\n---\n";
  }
  return text + fixture.programmatic + "\n";
}

/** A request line as a plain object; `random` (a u64) as a bigint, exactly. */
function requestObject(line) {
  const object = JSON.parse(line);
  const random = /"random":(\d+)/.exec(line);
  if (random) object.random = BigInt(random[1]);
  return object;
}

let routed = 0;

for (const c of fixture.cases) {
  test(`parity: ${c.name}`, () => {
    for (const phase of c.phases) {
      const text = phase.phase === 0 ? caseText(c.manifests) : phase.text;
      if (phase.phase === 0) assert.equal(text, phase.text, "the JS set-up builds another text");
      for (const r of phase.routers) {
        const build = () => Router.fromManifests(text, r.namespace, r.name, options);
        const error = phase.load_error ?? r.error;
        if (error !== null) {
          assert.throws(build, (e) => e instanceof Error && e.message === error);
          continue;
        }
        const router = build();
        try {
          assert.equal(router.status(), phase.status, `phase ${phase.phase} status`);
          for (const { line, expected } of r.requests) {
            assert.equal(router.routeJson(line), expected, line);
            assert.equal(JSON.stringify(router.route(requestObject(line))), expected, line);
            routed += 1;
          }
        } finally {
          router.free();
        }
      }
    }
  });
}

test("parity: every request line was routed", () => {
  const lines = fixture.cases
    .flatMap((c) => c.phases)
    .flatMap((p) => (p.load_error === null ? p.routers : []))
    .filter((r) => r.error === null)
    .reduce((n, r) => n + r.requests.length, 0);
  assert.equal(fixture.cases.length, 66);
  assert.equal(routed, lines);
  console.log(`# parity: ${fixture.cases.length} cases, ${routed} request lines, twice each`);
});
