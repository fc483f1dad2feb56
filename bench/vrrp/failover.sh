#!/usr/bin/env bash
# VRRP failover time, Trireme vs keepalived 2.2.7 at equal settings, measured from a client namespace.
#
# Run it (root, under the machine-wide bench lock):
#   flock /tmp/trireme-bench.lock bench/vrrp/failover.sh
# Knobs (environment):
#   RUNS=3                      runs per (implementation, config, scenario); RUNS=20 for the issue's table
#   CONFIGS="v2 v3"             v2: advert_int 1 s with auth_pass; v3: advert_int 0.1 s
#   SCENARIOS="crash nodefail graceful"
#                               crash: kill -9 the master; nodefail: its link goes down and it is killed
#                               (anchors.md's "node failure": a powered-off node, whose MAC no longer answers);
#                               graceful: SIGTERM (priority 0 advert)
#   IMPLS="keepalived trireme"  both in one run, alternating run by run so load drift hits both alike
#   MODE=unicast|multicast      (default unicast, like anchors.md's table)
#   PRIOS="150 100 100"         r1 r2 r3; equal backups make dual masters possible, as in anchors.md
#   PROBE_MS=10                 client probe interval
#   OBSERVE_MS=6000             how long the client keeps probing after the first answer (longer than
#                               keepalived's 5 s garp_master_delay, so a dual-master stall is seen whole)
#   KEEP_LOGS=DIR               copy every run's router logs to DIR/<impl>.<cfg>.<scenario>.<run>/
#   MAX_MINUTES=80              no new run starts after this; the results then say truncated=1
#                               (RUNS=20 for everything takes about 50 minutes on an idle machine)
#
# Bed: namespaces trvb-<random>-{br,r1,r2,r3,c}, addresses 10.77.1.0/24 only inside them. Each router
# namespace runs a tiny TCP server (probe.py serve) answering its name; the client's probe connects to
# the VIP every PROBE_MS and reports the time from the kill until a node other than the old master
# answers ("answer") and until the client is steadily served by the final master ("settled": a stall on
# the MAC of a dual master's loser counts here). Everything started is stopped by PID and every namespace is deleted on exit.
# Output: "# ..." progress on stderr, then "=== vrrp failover results ===" and metric=value lines.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
RUNS=${RUNS:-3}
CONFIGS=${CONFIGS:-"v2 v3"}
SCENARIOS=${SCENARIOS:-"crash nodefail graceful"}
IMPLS=${IMPLS:-"keepalived trireme"}
MODE=${MODE:-unicast}
PRIOS=(${PRIOS:-150 100 100})
PROBE_MS=${PROBE_MS:-10}
OBSERVE_MS=${OBSERVE_MS:-6000}
MAX_MINUTES=${MAX_MINUTES:-80}
started_at=$(date +%s)
truncated=0
VIP=10.77.1.100
PYTHON=/usr/bin/python3

[ "$(id -u)" = 0 ] || { echo "failover.sh needs root" >&2; exit 1; }
TRIREME_DLL=${TRIREME_DLL:-$repo/src/Trireme.Cli/bin/Release/net10.0/trireme.dll}
if [ ! -f "$TRIREME_DLL" ]; then
  echo "# building trireme (Release)" >&2
  dotnet build "$repo/src/Trireme.Cli" -c Release -nologo -clp:ErrorsOnly >&2 || exit 1
fi

id=$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')
P=trvb-$id
work=$(mktemp -d /tmp/trvb-XXXXXX)
namespaces=()
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM # exit runs the EXIT trap

addns() { ip netns add "$P-$1"; namespaces+=("$P-$1"); ip netns exec "$P-$1" ip link set lo up; }
addhost() { # role address
  addns "$1"
  ip link add "tb$id$1" type veth peer name eth0 netns "$P-$1"
  ip link set "tb$id$1" netns "$P-br"
  ip netns exec "$P-br" ip link set "tb$id$1" master br0 up
  ip netns exec "$P-$1" ip addr add "$2/24" dev eth0
  ip netns exec "$P-$1" ip link set eth0 up
}

addns br
ip netns exec "$P-br" ip link add br0 type bridge
ip netns exec "$P-br" ip link set br0 up
for i in 1 2 3; do addhost "r$i" "10.77.1.1$i"; done
addhost c 10.77.1.9
for i in 1 2 3; do
  ip netns exec "$P-r$i" "$PYTHON" "$here/probe.py" serve "r$i" 7000 & pids+=($!); disown
done
echo "# bed $P ready; loadavg $(cut -d' ' -f1-3 /proc/loadavg)" >&2

peers_of() { for j in 1 2 3; do [ "$j" != "$1" ] && echo "10.77.1.1$j"; done; }

trireme_conf() { # i cfg
  local i=$1 cfg=$2 f=$work/t$i.yaml
  {
    echo "name: vi$i"; echo "interface: eth0"; echo "virtualRouterId: 51"; echo "priority: ${PRIOS[$((i-1))]}"
    echo "virtualIps: [$VIP/24]"
    if [ "$cfg" = v2 ]; then echo "version: 2"; echo "advertInterval: 1"; echo "authPass: secret12"
    else echo "version: 3"; echo "advertInterval: 0.1"; fi
    if [ "$MODE" = unicast ]; then echo "sourceIp: 10.77.1.1$i"; echo "unicastPeers: [$(peers_of "$i" | paste -sd, -)]"; fi
  } > "$f"
  echo "$f"
}

keepalived_conf() { # i cfg
  local i=$1 cfg=$2 f=$work/k$i.conf
  {
    echo "global_defs { router_id k$i }"
    echo "vrrp_instance VI_1 {"
    echo "  state BACKUP"; echo "  interface eth0"; echo "  virtual_router_id 51"; echo "  priority ${PRIOS[$((i-1))]}"
    # keepalived's parser wants one keyword per line: "{ auth_type PASS auth_pass x }" on one line
    # silently loses the password.
    if [ "$cfg" = v2 ]; then echo "  version 2"; echo "  advert_int 1"; printf '  authentication {\n    auth_type PASS\n    auth_pass secret12\n  }\n'
    else echo "  version 3"; echo "  advert_int 0.1"; fi
    if [ "$MODE" = unicast ]; then echo "  unicast_src_ip 10.77.1.1$i"; echo "  unicast_peer {"; peers_of "$i" | sed 's/^/    /'; echo "  }"; fi
    printf '  virtual_ipaddress {\n    %s/24 dev eth0\n  }\n' "$VIP"
    echo "}"
  } > "$f"
  echo "$f"
}

declare -A router_pid
seq=0
start_router() { # impl i cfg
  local impl=$1 i=$2 cfg=$3 log=$work/$1-r$2.log
  seq=$((seq + 1)) # fresh pid files per start: keepalived refuses to start if an old file names a live PID
  if [ "$impl" = trireme ]; then
    ip netns exec "$P-r$i" dotnet "$TRIREME_DLL" vip --config "$(trireme_conf "$i" "$cfg")" > "$log" 2>&1 &
  else
    ip netns exec "$P-r$i" keepalived --dont-fork --log-console --vrrp --use-file "$(keepalived_conf "$i" "$cfg")" \
      --pid "$work/k$i.$seq.pid" --vrrp_pid "$work/k$i.$seq.vrrp.pid" --checkers_pid "$work/k$i.$seq.chk.pid" > "$log" 2>&1 &
  fi
  router_pid[$i]=$!
  pids+=($!)
  disown # no job notices when we kill it; stop_routers polls instead of wait
}

# A real crash for keepalived too: it forks a VRRP child whose parent-death signal is SIGTERM, and a
# SIGTERM'd child says goodbye with priority 0 — a graceful stop, not a crash. So: stop the parent (no
# respawn), SIGKILL the children, then SIGKILL the parent.
crash() { kill -STOP "$1" 2>/dev/null; kill -9 $(pgrep -P "$1") 2>/dev/null; kill -9 "$1" 2>/dev/null; }
export -f crash

stop_routers() {
  for i in 1 2 3; do crash "${router_pid[$i]}"; done
  for i in 1 2 3; do
    for _ in $(seq 100); do kill -0 "${router_pid[$i]}" 2>/dev/null || break; sleep 0.05; done
    ip netns exec "$P-r$i" ip addr del "$VIP/24" dev eth0 2>/dev/null
    ip netns exec "$P-r$i" ip link set eth0 up # after nodefail
  done
}

holds_vip() { ip netns exec "$P-r$1" ip -4 -o addr show dev eth0 | grep -q " $VIP/"; }

wait_master() { # deadline 30 s
  for _ in $(seq 600); do holds_vip 1 && ! holds_vip 2 && ! holds_vip 3 && return 0; sleep 0.05; done
  return 1
}

# Log lines written after the kill only: a backup that raced r1 at startup is not a dual master.
declare -A lines_before
mark_logs() { for i in 2 3; do lines_before[$i]=$(wc -l < "$work/$1-r$i.log"); done; }
after_kill() { tail -n +"$(( ${lines_before[$2]:-0} + 1 ))" "$work/$1-r$2.log"; } # impl i

masters_after_kill() { # impl: how many of r2, r3 became master after the kill
  local n=0 pattern="Backup -> Master"
  [ "$1" = keepalived ] && pattern="Entering MASTER STATE"
  for i in 2 3; do after_kill "$1" "$i" | grep -q "$pattern" && n=$((n + 1)); done
  echo $n
}

declare -A results settles dual takeover rx0
# Trireme's own per-event host latency (logged by the instance): the new master's "Backup -> Master ...;
# host latency X ms" (deadline -> VIP, GARP and advert done) and, when the old master said goodbye,
# "stepped X ms after it arrived" (kernel receive stamp -> router step). Also printed: yields and the
# winner's "answered lower master" re-announce, so each dual master shows how it was resolved.
collect_latency() { # key
  local line v
  for i in 2 3; do
    while IFS= read -r line; do
      echo "#   r$i: ${line##*vrrp }" >&2
      case "$line" in
        *"Backup -> Master"*) v=$(echo "$line" | sed -n 's/.*host latency \([0-9.]*\) ms.*/\1/p'); [ -n "$v" ] && takeover[$1]="${takeover[$1]} $v" ;;
        *"is leaving"*) v=$(echo "$line" | sed -n 's/.*stepped \([0-9.]*\) ms.*/\1/p'); [ -n "$v" ] && rx0[$1]="${rx0[$1]} $v" ;;
      esac
    done < <(after_kill trireme "$i" | grep -E "Backup -> Master|Master -> Backup|is leaving|answered lower master")
  done
}

for cfg in $CONFIGS; do
  for scenario in $SCENARIOS; do
    for impl in $IMPLS; do key="$impl.$cfg.$scenario"; results[$key]=""; settles[$key]=""; dual[$key]=0; takeover[$key]=""; rx0[$key]=""; done
    for run in $(seq "$RUNS"); do
      for impl in $IMPLS; do
        key="$impl.$cfg.$scenario"
        if [ $(( $(date +%s) - started_at )) -ge $((MAX_MINUTES * 60)) ]; then truncated=1; break 4; fi
        for i in 1 2 3; do start_router "$impl" "$i" "$cfg"; [ "$i" = 1 ] && sleep 0.3; done
        if ! wait_master; then
          echo "# $key run $run: r1 never became sole master; log tails:" >&2
          for i in 1 2 3; do tail -n 5 "$work/$impl-r$i.log" | sed "s/^/#   r$i: /" >&2; done
          stop_routers; continue
        fi
        sleep "$([ "$cfg" = v2 ] && echo 2 || echo 1)"   # backups settle
        ip netns exec "$P-c" busybox ping -c1 -W1 "$VIP" > /dev/null 2>&1   # the client has a neighbour entry
        case $scenario in
          crash) kill_cmd=(bash -c "crash ${router_pid[1]}") ;;
          nodefail) kill_cmd=(bash -c "ip netns exec $P-r1 ip link set eth0 down; crash ${router_pid[1]}") ;;
          *) kill_cmd=(kill -TERM "${router_pid[1]}") ;;
        esac
        mark_logs "$impl"
        out=$(ip netns exec "$P-c" "$PYTHON" "$here/probe.py" probe "$VIP" 7000 r1 "$PROBE_MS" 20000 "$OBSERVE_MS" -- "${kill_cmd[@]}")
        ms=$(echo "$out" | sed -n 's/.*answer_ms=\([0-9]*\).*/\1/p')
        settled=$(echo "$out" | sed -n 's/.*settled_ms=\([0-9]*\).*/\1/p')
        sleep 0.3
        d=$(masters_after_kill "$impl")
        [ "$d" -ge 2 ] && dual[$key]=$((dual[$key] + 1))
        echo "# $key run $run: $out masters_after=$d loadavg=$(cut -d' ' -f1 /proc/loadavg)" >&2
        [ "$impl" = trireme ] && collect_latency "$key"
        if [ -n "${KEEP_LOGS:-}" ]; then mkdir -p "$KEEP_LOGS/$key.$run" && cp "$work/$impl"-r*.log "$KEEP_LOGS/$key.$run/"; fi
        [ -n "$ms" ] && results[$key]="${results[$key]} $ms"
        [ -n "$settled" ] && settles[$key]="${settles[$key]} $settled"
        stop_routers
      done
    done
  done
done

stats() { # values... -> n min median max
  printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {if (NR==0) {print "0 - - -"; exit} m=(NR%2)?v[(NR+1)/2]:int((v[NR/2]+v[NR/2+1])/2); print NR, v[1], m, v[NR]}'
}

echo "=== vrrp failover results ==="
echo "mode=$MODE runs=$RUNS prios=${PRIOS[*]} probe_ms=$PROBE_MS loadavg=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' '/') minutes=$(( ($(date +%s) - started_at) / 60 )) truncated=$truncated"
for key in "${!results[@]}"; do
  read -r n min med max <<< "$(stats ${results[$key]})"
  read -r sn smin smed smax <<< "$(stats ${settles[$key]})"
  extra=""
  if [ -n "${takeover[$key]}" ]; then
    extra=" takeover_host_latency_ms_all=$(echo ${takeover[$key]} | tr ' ' ',')"
    [ -n "${rx0[$key]}" ] && extra="$extra priority0_rx_latency_ms_all=$(echo ${rx0[$key]} | tr ' ' ',')"
  fi
  echo "$key n=$n answer_min_ms=$min answer_median_ms=$med answer_max_ms=$max settled_median_ms=$smed settled_max_ms=$smax dual_master_runs=${dual[$key]} answer_all=$(echo ${results[$key]} | tr ' ' ',') settled_all=$(echo ${settles[$key]} | tr ' ' ',')$extra"
done | sort
