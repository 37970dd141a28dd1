#!/usr/bin/env bash
# The main job, as `make demo` runs it: a gateway and two workers on
# loopback find each other by multicast (the workers join with the token the
# gateway wrote to its data directory), the ww-scheduler's curl submits
# the hash puzzle (3 runs), and the result is printed. Everything started
# here is stopped on exit.
#
# DEMO_HTTP sets the gateway's HTTP address (default 127.0.0.1:8080).
set -euo pipefail
cd "$(dirname "$0")/.."
shoal=./bin/shoal
http=${DEMO_HTTP:-127.0.0.1:8080}
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# wait_for FILE PATTERN: until a node's output has its start line.
wait_for() {
  for _ in $(seq 100); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "demo: no '$2' in $1:"; cat "$1" "${1%.out}.err"; exit 1
}

say "starting a gateway (HTTP on $http)"
$shoal gateway --data "$dir/gateway" --http "$http" >"$dir/gateway.out" 2>"$dir/gateway.err" &
pids+=($!)
wait_for "$dir/gateway.out" "shoal gateway"
cat "$dir/gateway.out"
peer=$(sed -n 's/.*peer=\([^ ]*\).*/\1/p' "$dir/gateway.out")

for i in 1 2; do
  say "starting worker $i: it finds gateway $peer by multicast on lo, and joins with its token"
  $shoal worker --data "$dir/worker$i" --dial "$peer" --join-token-file "$dir/gateway/join-token" --slots 2 >"$dir/worker$i.out" 2>"$dir/worker$i.err" &
  pids+=($!)
  wait_for "$dir/worker$i.out" "shoal worker"
  cat "$dir/worker$i.out"
done

for _ in $(seq 100); do
  [ "$($shoal workers --gateway "http://$http" --json | grep -c '"id"')" -ge 2 ] && break
  sleep 0.1
done
say "workers in the gateway's pool"
$shoal workers --gateway "http://$http"

say "submitting the hash puzzle with the ww-scheduler's curl (examples/submit.sh)"
SHOAL_GATEWAY="http://$http" ./examples/submit.sh -sS
echo

say "waiting for its 3 runs (start 1 s, then every 2 s)"
status=$(curl -sS "http://$http/tasks/task1?wait=30" | sed -n 's/^  "status": "\(.*\)",/\1/p')

say "the result"
$shoal task task1 --gateway "http://$http"
echo
echo "input 0 at difficulty 3: the answer is $(curl -sS "http://$http/tasks/task1" | sed -n 's/^  "result": "\(.*\)",/\1/p') (status $status)"
[ "$status" = succeeded ]
