#!/usr/bin/env bash
# Builds ngx_http_gateway_module.so against the installed Debian nginx (packages nginx and
# nginx-dev), linked with the release static library of gateway-ffi.
#   examples/nginx/build.sh [OUT_DIR]   (default OUT_DIR: $CARGO_TARGET_DIR/nginx-module)
# Prints the path of the built module on its last line.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
out="${1:-$target/nginx-module}"

(cd "$root" && cargo build --locked --release -p gateway-ffi >&2)
export GATEWAY_FFI_LIB="$target/release/libgateway_ffi.a"
export GATEWAY_FFI_INCLUDE="$root/include"

# nginx's configure writes into its source tree: work on a copy.
rm -rf "$out/src" "$out/build"
mkdir -p "$out"
cp -r /usr/share/nginx/src "$out/src"
cd "$out/src"
. ./conf_flags
./configure --with-cc-opt="$(dpkg-buildflags --get CFLAGS) -fPIC $(dpkg-buildflags --get CPPFLAGS)" \
    --with-ld-opt="$(dpkg-buildflags --get LDFLAGS) -fPIC" "${NGX_CONF_FLAGS[@]}" \
    --add-dynamic-module="$here" --builddir="$out/build" >"$out/configure.log" 2>&1 \
    || { cat "$out/configure.log" >&2; exit 1; }
make -f "$out/build/Makefile" modules >"$out/make.log" 2>&1 || { cat "$out/make.log" >&2; exit 1; }
echo "$out/build/ngx_http_gateway_module.so"
