#!/usr/bin/env bash
# Benchmark: mock-agent against the real MLflow agent server 3.18 (mlflow-skinny, installed into a
# venv here), same load generator (wrk), same request, on loopback. Prints a markdown table.
#   bench/bench.sh [seconds-per-run]   (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
work=target/bench
mkdir -p "$work"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
if [ ! -x "$work/venv/bin/uvicorn" ]; then
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install -q mlflow-skinny==3.18.0 fastapi uvicorn httpx numpy pandas sqlalchemy alembic
fi
cargo build -q --release -p mock-agent

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 300); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; echo "nothing listens on $1" >&2; return 1; }

mock_port=$(free_port)
target/release/mock-agent serve --auth off --agent-listen 127.0.0.1:"$mock_port" > "$work/mock.out" &
mock_pid=$!
real_port=$(free_port)
(cd "$work" && MLFLOW_TRACKING_URI="sqlite:///$PWD/mlflow.db" PYTHONPATH="$OLDPWD/bench" \
  exec venv/bin/uvicorn echo_agent:app --host 127.0.0.1 --port "$real_port" --log-level warning) > "$work/real.out" 2>&1 &
real_pid=$!
trap 'kill $mock_pid $real_pid 2>/dev/null || true' EXIT
wait_port "$mock_port"; wait_port "$real_port"

stream_body='{"input":[{"role":"user","content":"hello"}],"stream":true}'
unary_body='{"input":[{"role":"user","content":"hello"}]}'
# Same bytes from both servers (trace ids aside): the comparison is like for like.
for port in "$mock_port" "$real_port"; do
  curl -sf -X POST "http://127.0.0.1:$port/invocations" -d "$stream_body" | grep -q '"delta": "hello"'
done

# run PORT BODY -> "requests/s p99"
run() {
  BENCH_BODY="$2" wrk -t1 -c16 -d"${secs}s" --latency -s bench/post.lua "http://127.0.0.1:$1/invocations" > "$work/wrk.out"
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.out")
  p99=$(awk '$1=="99%" {print $2}' "$work/wrk.out")
  if grep -qE "Non-2xx|Socket errors" "$work/wrk.out"; then echo "errors during the run:" >&2; cat "$work/wrk.out" >&2; exit 1; fi
  echo "$rps $p99"
}

BENCH_BODY="$stream_body" wrk -t1 -c4 -d2s -s bench/post.lua "http://127.0.0.1:$real_port/invocations" >/dev/null  # warm-up
read -r mock_s_rps mock_s_p99 <<<"$(run "$mock_port" "$stream_body")"
read -r real_s_rps real_s_p99 <<<"$(run "$real_port" "$stream_body")"
read -r mock_u_rps mock_u_p99 <<<"$(run "$mock_port" "$unary_body")"
read -r real_u_rps real_u_p99 <<<"$(run "$real_port" "$unary_body")"
# Memory: a fresh mock (not the one wrk just loaded, whose allocator keeps its high-water mark).
ulimit -n 8192 2>/dev/null || true
idle_port=$(free_port)
target/release/mock-agent serve --auth off --agent-listen 127.0.0.1:"$idle_port" > "$work/idle.out" &
idle_pid=$!
trap 'kill $mock_pid $real_pid $idle_pid 2>/dev/null || true' EXIT
wait_port "$idle_port"
read -r rss_before rss_after held <<<"$(python3 bench/idle_streams.py 127.0.0.1 "$idle_port" "$idle_pid" 1000)"

ratio() { python3 -c "print(f'{$1/$2:.1f}x')"; }
cat <<TABLE
| $(nproc) cores, wrk -t1 -c16 -d${secs}s | mock-agent | MLflow agent server 3.18 | ratio |
|---|---|---|---|
| streaming requests/s | $mock_s_rps | $real_s_rps | $(ratio "$mock_s_rps" "$real_s_rps") |
| streaming p99 latency | $mock_s_p99 | $real_s_p99 | |
| unary requests/s | $mock_u_rps | $real_u_rps | $(ratio "$mock_u_rps" "$real_u_rps") |
| unary p99 latency | $mock_u_p99 | $real_u_p99 | |
| RSS holding $held idle streams (fresh process) | $((rss_after / 1024)) MB (at start: $((rss_before / 1024)) MB) | | |
TABLE
