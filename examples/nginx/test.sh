#!/usr/bin/env bash
# Integration test of ngx_http_gateway_module: builds the module against Debian's nginx, starts
# nginx (unprivileged-style, temp prefix, 127.0.0.1 only) in front of real echo backends on
# loopback ports, sends real requests (examples/nginx/check.py) and checks what the client got
# and what each backend received, then stops nginx and the backends by their pids.
# With GATEWAY_NGINX_MODULE=/path/to/ngx_http_gateway_module.so it tests that module instead.
# Installs nothing except nginx/nginx-dev/python3 through apt-get when they are missing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"

need=()
[ -x /usr/sbin/nginx ] || need+=(nginx)
[ -f /usr/share/nginx/src/conf_flags ] || need+=(nginx-dev)
command -v python3 >/dev/null || need+=(python3)
command -v dpkg-buildflags >/dev/null || need+=(dpkg-dev)
if [ ${#need[@]} -gt 0 ]; then
    # Keep apt from starting nginx on port 80 (policy-rc.d exiting 101 forbids service starts).
    policy=/usr/sbin/policy-rc.d
    saved=""
    if [ -e "$policy" ]; then saved="$(mktemp)"; cp -p "$policy" "$saved"; fi
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    if [ -n "$saved" ]; then mv "$saved" "$policy"; else rm -f "$policy"; fi
fi

# GATEWAY_NGINX_MODULE: test an installed module (`make install-nginx`) instead of building one.
module="${GATEWAY_NGINX_MODULE:-}"
[ -n "$module" ] || module="$("$here/build.sh" "$target/nginx-module" | tail -n1)"
dir="$(mktemp -d)"
pids=()
cleanup() {
    if [ -f "$dir/nginx.pid" ]; then
        kill -QUIT "$(cat "$dir/nginx.pid")" 2>/dev/null || true
    fi
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT

# Backends, each on a free loopback port.
declare -A port
for name in web api-v1 api-v2 admin; do
    python3 "$here/backend.py" "$name" "$dir/$name.port" &
    pids+=($!)
done
for name in web api-v1 api-v2 admin; do
    for _ in $(seq 100); do [ -f "$dir/$name.port" ] && break; sleep 0.1; done
    port[$name]="$(cat "$dir/$name.port")"
done
# nginx's port: a free loopback port; the Gateway listener uses the same number, since
# listeners are selected by the port the connection arrived on.
nginx_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

sed "s/LISTENER_PORT/$nginx_port/" "$here/test-manifests.yaml" >"$dir/gateway.yaml"
mkdir -p "$dir/logs" "$dir/temp"
cat >"$dir/nginx.conf" <<CONF
load_module $module;
daemon off;
master_process on;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log info;
events { worker_connections 64; }
http {
    access_log $dir/logs/access.log;
    client_body_temp_path $dir/temp/body;
    proxy_temp_path $dir/temp/proxy;
    fastcgi_temp_path $dir/temp/fastcgi;
    uwsgi_temp_path $dir/temp/uwsgi;
    scgi_temp_path $dir/temp/scgi;

    gateway_manifests $dir/gateway.yaml;
    gateway_name test/gw;

    # Services to loopback backends.
    map \$gateway_backend \$gateway_upstream {
        default              127.0.0.1:1;
        test/web:80          127.0.0.1:${port[web]};
        test/api-v1:80       127.0.0.1:${port[api-v1]};
        test/api-v2:80       127.0.0.1:${port[api-v2]};
        test/admin:80        127.0.0.1:${port[admin]};
    }
    server {
        listen 127.0.0.1:$nginx_port;
        location / {
            gateway on;
            proxy_pass http://\$gateway_upstream\$gateway_path;
            proxy_set_header Host \$gateway_authority;
            add_header X-Gateway-Route \$gateway_route/\$gateway_rule always;
        }
    }
}
CONF

# Invalid manifests stop nginx at configuration time, naming the resource and the field.
cp "$dir/gateway.yaml" "$dir/gateway.good"
sed -i 's|value: /api/admin}|value: api-admin}|' "$dir/gateway.yaml"
if /usr/sbin/nginx -t -p "$dir" -c "$dir/nginx.conf" >"$dir/bad.log" 2>&1; then
    echo "FAIL nginx accepted invalid manifests" >&2; exit 1
fi
grep -q 'HTTPRoute test/app: spec.rules\[3\]' "$dir/bad.log" \
    || { echo "FAIL no diagnostic for invalid manifests:" >&2; cat "$dir/bad.log" >&2; exit 1; }
echo "ok   invalid manifests rejected by nginx -t: $(grep -o 'HTTPRoute.*' "$dir/bad.log" | head -n1)"
mv "$dir/gateway.good" "$dir/gateway.yaml"

/usr/sbin/nginx -t -p "$dir" -c "$dir/nginx.conf" 2>&1 | tail -n 3
/usr/sbin/nginx -p "$dir" -c "$dir/nginx.conf" &
pids+=($!)
for _ in $(seq 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $nginx_port), 1)" 2>/dev/null && break
    sleep 0.1
done

status=0
python3 "$here/check.py" "$nginx_port" || status=$?
if [ $status -ne 0 ]; then
    echo "--- nginx error log" >&2
    tail -n 40 "$dir/logs/error.log" >&2
fi
kill -QUIT "$(cat "$dir/nginx.pid")"
for _ in $(seq 100); do [ -f "$dir/nginx.pid" ] || break; sleep 0.1; done
exit $status
