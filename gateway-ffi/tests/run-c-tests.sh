#!/usr/bin/env bash
# Builds the C tests in tests/c/ twice against the release static library, with
# -Wall -Wextra -Werror: once with ASan+UBSan (run directly) and once without sanitizers (run
# under valgrind with --leak-check=full). Any warning, sanitizer report, valgrind error or leak
# fails. Needs gcc, valgrind and cargo; run from anywhere.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
out="$target/c-tests"
mkdir -p "$out"

cd "$root"
cargo build --locked --release -p gateway-ffi
lib="$target/release/libgateway_ffi.a"
version="$(cargo pkgid -p gateway-ffi | sed 's/.*[@#]//')"
shop="$root/examples/manifests/shop.yaml"

cflags=(-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -O1 -I"$root/include"
        "-DGW_EXPECTED_VERSION=\"$version\"")
libs=("$lib" -lpthread -ldl -lm)

run() { # name binary
    case "$1" in
        test_abi) "${@:2}" "$shop" ;;
        test_l4) "${@:2}" "$root/examples/l4/l4.yaml" ;;
        *) "${@:2}" ;;
    esac
}

for src in "$here"/c/*.c; do
    name="$(basename "$src" .c)"
    echo "== $name (ASan + UBSan)"
    gcc "${cflags[@]}" -fsanitize=address,undefined -fno-sanitize-recover=all \
        -fno-omit-frame-pointer "$src" -o "$out/$name.asan" "${libs[@]}"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        run "$name" "$out/$name.asan"

    echo "== $name (valgrind)"
    gcc "${cflags[@]}" "$src" -o "$out/$name" "${libs[@]}"
    GW_SWAPS=20 run "$name" valgrind -q --fair-sched=yes --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=all \
        --show-leak-kinds=definite,indirect,possible "$out/$name"
done
echo "C tests passed (ASan/UBSan and valgrind)"
