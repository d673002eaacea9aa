#!/usr/bin/env bash
# The Node package as a user installs it: `npm pack` of gateway-wasm/pkg-node (written by
# gateway-wasm/build.sh), the tarball installed into an empty scratch project (offline: a local
# file), then a short script run with node against `require("gateway-wasm")`: the packed files
# are there, package.json's version and `version()` are the workspace's Cargo version, and a
# request is routed. Prints the tarball's name and size.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
pkg="$root/gateway-wasm/pkg-node"
[ -f "$pkg/package.json" ] || { echo "no $pkg/package.json: run gateway-wasm/build.sh" >&2; exit 1; }

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
tarball="$(cd "$pkg" && npm pack --silent --pack-destination "$scratch")"
mkdir "$scratch/app"
cd "$scratch/app"
printf '{ "name": "scratch", "version": "0.0.0", "private": true }\n' >package.json
npm install --offline --no-audit --no-fund --silent "$scratch/$tarball"

GW_CARGO_VERSION="$(cd "$root" && cargo pkgid -p gateway-wasm | sed 's/.*[@#]//')" \
GW_SHOP="$root/examples/manifests/shop.yaml" node - <<'JS'
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");

const gateway = require("gateway-wasm");
const pkg = require("gateway-wasm/package.json");
const dir = path.dirname(require.resolve("gateway-wasm/package.json"));
for (const file of [pkg.main, pkg.types, "gateway_wasm_bg.wasm", "LICENSE", "README.md"]) {
  assert.ok(fs.existsSync(path.join(dir, file)), `${file} is in the package`);
}
assert.equal(pkg.license, "Apache-2.0");
assert.match(fs.readFileSync(path.join(dir, pkg.types), "utf8"), /export function version\(\): string;/);
assert.equal(pkg.version, process.env.GW_CARGO_VERSION, "package.json has the Cargo version");
assert.equal(gateway.version(), pkg.version, "version() is package.json's version");

const router = gateway.Router.fromManifests(fs.readFileSync(process.env.GW_SHOP, "utf8"), "", "");
const decision = router.route({ method: "GET", target: "/cart", headers: [["host", "shop.example.com"]] });
assert.equal(decision.outcome, "forward");
assert.deepEqual(decision.backend, { namespace: "shop", name: "web", port: 8080 });
router.free();
console.log(`gateway-wasm ${pkg.version} installed from its tarball: routes GET /cart to shop/web:8080`);
JS
echo "$tarball: $(stat -c %s "$scratch/$tarball") bytes"
