#!/usr/bin/env bash
# Builds the two WebAssembly artifacts of gateway-wasm (profile wasm-release):
#   pkg-node/   the Node package (wasm-bindgen --target nodejs, with package.json)
#   pkg-web/    the web package (wasm-bindgen --target web)
#   pkg-filter/gateway_filter.wasm   the proxy-wasm filter (optimized by wasm-opt when installed)
# Needs: rustup target add wasm32-unknown-unknown; wasm-bindgen-cli equal to the wasm-bindgen
# crate version (cargo install wasm-bindgen-cli --version 0.2.130 --no-default-features); clang
# and llvm-ar (Debian's clang package) for ring in the JS build; binaryen's wasm-opt for the
# filter.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
cd "$root"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
out="$target_dir/wasm32-unknown-unknown/wasm-release/gateway_wasm.wasm"
locked="${CARGO_LOCKED:---locked}"

# The JS bindings, with certificate verification (`tls`): ring's C and assembly parts need a
# C compiler that targets wasm32, which gcc is not; clang is (Debian: apt-get install clang).
export CC_wasm32_unknown_unknown="${CC_wasm32_unknown_unknown:-clang}"
export AR_wasm32_unknown_unknown="${AR_wasm32_unknown_unknown:-llvm-ar}"
cargo build $locked -p gateway-wasm --target wasm32-unknown-unknown --profile wasm-release \
  --no-default-features --features js,panic-hook,tls
rm -rf "$here/pkg-node" "$here/pkg-web"
wasm-bindgen --target nodejs --remove-name-section --out-dir "$here/pkg-node" "$out"
wasm-bindgen --target web --remove-name-section --out-dir "$here/pkg-web" "$out"
# The workspace's one version (what `version()` returns in JS, `gateway --version`, gw_version()).
version="$(cargo pkgid -p gateway-wasm | sed 's/.*[@#]//')"
for pkg in pkg-node pkg-web; do
  case $pkg in
    pkg-node) extra='"main": "gateway_wasm.js",' ;;
    pkg-web) extra='"type": "module", "module": "gateway_wasm.js", "sideEffects": ["./snippets/*"],' ;;
  esac
  cat > "$here/$pkg/package.json" <<JSON
{
  "name": "gateway-wasm",
  "version": "$version",
  "description": "Gateway API routing decisions (gateway-core) in WebAssembly",
  "license": "Apache-2.0",
  $extra
  "types": "gateway_wasm.d.ts",
  "files": ["gateway_wasm.js", "gateway_wasm_bg.wasm", "gateway_wasm.d.ts", "gateway_wasm_bg.wasm.d.ts"]
}
JSON
  # npm packs README and LICENSE whatever `files` says.
  cp "$here/README.md" "$root/LICENSE" "$here/$pkg/"
done

# The proxy-wasm filter (its own build: the same output file name, other features), stripped
# of its name section at link time. (Its panics abort: on wasm32-unknown-unknown a panic traps
# the VM whatever the profile says, and the filter has no catch_unwind to keep.)
CARGO_PROFILE_WASM_RELEASE_STRIP=true cargo build $locked -p gateway-wasm --target wasm32-unknown-unknown --profile wasm-release \
  --no-default-features --features proxy-wasm
mkdir -p "$here/pkg-filter"
# Then binaryen's wasm-opt (Debian: apt-get install binaryen; checked with version 108) shrinks
# it by a sixth without changing what it does. The features enabled are the ones rustc emits for
# wasm32-unknown-unknown, all of which Envoy's V8 and wasmtime support; without them wasm-opt
# refuses the module. The parity tests (tests/filter.rs, tests/parity.rs) run on its output.
if command -v wasm-opt >/dev/null 2>&1; then
  wasm-opt -Oz --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$out" -o "$here/pkg-filter/gateway_filter.wasm"
else
  echo "build.sh: wasm-opt not found (apt-get install binaryen): the filter is not optimized" >&2
  cp "$out" "$here/pkg-filter/gateway_filter.wasm"
fi

ls -l "$here/pkg-node/gateway_wasm_bg.wasm" "$here/pkg-filter/gateway_filter.wasm"
