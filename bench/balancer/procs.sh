# Sourced by run.sh, cpu.sh and tail.sh: starts nginx (1 worker, three ports answering `hello from nginx`),
# HAProxy 2.6 (mode tcp, roundrobin, check inter 2s rise 2 fall 3, nbthread 1) and `trireme lb` with the
# same settings, all on 127.0.0.1 from port BASE. Needs: BASE, tmp (a temp dir), pids (array; every
# PID started is appended for the caller's cleanup), TRIREME (the binary).
# Sets HAPROXY_PID, TRIREME_PID, HAPROXY_PORT, TRIREME_PORT, DIRECT_PORT.

# Creates $tmp (/tmp/trireme-lb-NAME-XXXXXX) and an empty `pids`, stops every PID started (and removes
# $tmp and the other dirs given) on exit, builds trireme and starts nginx, HAProxy and `trireme lb`.
bench_setup() { # NAME [DIR...]
  tmp=$(mktemp -d "/tmp/trireme-lb-$1-XXXXXX")
  chmod 755 "$tmp"
  shift
  pids=()
  cleanup_dirs=("$tmp" "$@")
  trap 'stop_all "${cleanup_dirs[@]}"' EXIT
  build_trireme
  start_all
}

# wrk's latency ("812.00us", "2.45ms", "1.02s") in milliseconds.
to_ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) { sub(/us$/,"",v); printf "%.3f", v/1000 } else if (v ~ /ms$/) { sub(/ms$/,"",v); printf "%.3f", v } else if (v ~ /s$/) { sub(/s$/,"",v); printf "%.0f", v*1000 } else print v }'; }

# Stops every PID in `pids` (SIGTERM, then SIGKILL after half a second) and removes the given dirs.
stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$@"
}

# Builds trireme (unless NOBUILD=1) and sets TRIREME to the binary. Needs REPO.
build_trireme() {
  if [ "${NOBUILD:-0}" != 1 ]; then
    echo "# building trireme (Release)" >&2
    dotnet build "$REPO/src/Trireme.Cli" -c Release -nologo -clp:ErrorsOnly >&2
  fi
  TRIREME="$REPO/src/Trireme.Cli/bin/Release/net10.0/trireme"
}
start_all() {
  DIRECT_PORT=$((BASE+1)); HAPROXY_PORT=$((BASE+10)); TRIREME_PORT=$((BASE+20))
  cat > "$tmp/nginx.conf" <<NGX
worker_processes 1;
worker_rlimit_nofile 20000;
pid $tmp/nginx.pid;
error_log $tmp/nginx.err warn;
events { worker_connections 30000; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  server { listen 127.0.0.1:$((BASE+1)) backlog=4096; location / { return 200 "hello from nginx\n"; } }
  server { listen 127.0.0.1:$((BASE+2)) backlog=4096; location / { return 200 "hello from nginx\n"; } }
  server { listen 127.0.0.1:$((BASE+3)) backlog=4096; location / { return 200 "hello from nginx\n"; } }
}
NGX
  nginx -c "$tmp/nginx.conf" -g 'daemon off;' & pids+=($!)

  cat > "$tmp/haproxy.cfg" <<HAP
global
  nbthread 1
  maxconn 9000
defaults
  mode tcp
  timeout connect 5s
  timeout client 50s
  timeout server 50s
  timeout tunnel 1h
frontend fe
  bind 127.0.0.1:$HAPROXY_PORT
  default_backend be
backend be
  balance roundrobin
  server s1 127.0.0.1:$((BASE+1)) check inter 2s rise 2 fall 3
  server s2 127.0.0.1:$((BASE+2)) check inter 2s rise 2 fall 3
  server s3 127.0.0.1:$((BASE+3)) check inter 2s rise 2 fall 3
HAP
  haproxy -f "$tmp/haproxy.cfg" -db & pids+=($!)
  HAPROXY_PID=$!

  cat > "$tmp/lb.yaml" <<YML
global: { maxconn: 9000 }
defaults:
  timeouts: { connect: 5s, client: 50s, server: 50s, tunnel: 1h }
frontends:
  - { name: fe, bind: 127.0.0.1:$TRIREME_PORT, backend: be }
backends:
  - name: be
    balance: roundrobin
    check: { type: tcp, inter: 2s, rise: 2, fall: 3 }
    servers:
      - { name: s1, address: 127.0.0.1:$((BASE+1)) }
      - { name: s2, address: 127.0.0.1:$((BASE+2)) }
      - { name: s3, address: 127.0.0.1:$((BASE+3)) }
YML
  DOTNET_gcServer=0 "$TRIREME" lb --config "$tmp/lb.yaml" > "$tmp/trireme.log" 2>&1 & pids+=($!)
  TRIREME_PID=$!
  for port in $DIRECT_PORT $HAPROXY_PORT $TRIREME_PORT; do
    for _ in $(seq 60); do curl -sf "http://127.0.0.1:$port/" > /dev/null && break; sleep 0.5; done
    curl -sf "http://127.0.0.1:$port/" > /dev/null || { echo "# port $port not answering" >&2; cat "$tmp/trireme.log" >&2; exit 1; }
  done
}
