#!/usr/bin/env bash
# Needs wrk (apt-get install wrk) and a release build: cargo build --release --bin dipr && scripts/bench-web.sh
# Latency and throughput of the web pages, server-rendered, on the demo registry (release build).
set -euo pipefail
BIN=${BIN:-target/release/dipr}
PORT=18081
DATA=$(mktemp -d)
"$BIN" serve --demo --data-dir "$DATA" --listen 127.0.0.1:$PORT >"$DATA/log" 2>&1 &
SERVER=$!
trap 'kill $SERVER; rm -rf "$DATA"' EXIT
until curl -fsS http://127.0.0.1:$PORT/healthz >/dev/null 2>&1; do sleep 0.3; done
B=http://127.0.0.1:$PORT
token() { curl -fsS -H 'content-type: application/json' -d "{\"username\":\"$1\",\"password\":\"dipr-demo-2026\"}" $B/api/v1/auth/signin | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'; }
A=$(token user01); E=$(token examiner1); K=$(token bank1); M=$(token admin)
REC=$(curl -fsS "$B/api/v1/public/records?status=registered&per_page=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
FIL=$(curl -fsS -H "authorization: Bearer $A" "$B/api/v1/applications?per_page=100" | python3 -c 'import json,sys; print([i["id"] for i in json.load(sys.stdin)["items"] if i["state"]=="registered"][0])')
REV=$(curl -fsS -H "authorization: Bearer $E" "$B/api/v1/review/queue" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
run() { # name cookie-token path
  local out; out=$(wrk -t2 -c8 -d8s --latency ${2:+-H "Cookie: dipr_session=$2"} "$B$3")
  printf '%-34s %10s req/s  p50 %8s  p99 %8s\n' "$1" "$(echo "$out" | awk '/Requests\/sec/ {print $2}')" \
    "$(echo "$out" | awk '$1=="50%" {print $2}')" "$(echo "$out" | awk '$1=="99%" {print $2}')"
}
run "home" "" /
run "search (语料)" "" "/search?q=%E8%AF%AD%E6%96%99"
run "public record" "" "/records/$REC"
run "statistics dashboard" "" /stats
run "my registry (applicant)" "$A" /me
run "filing page (registered, holder)" "$A" "/me/filings/$FIL"
run "my registry (examiner queue)" "$E" /me
run "review page" "$E" "/review/$REV"
run "my registry (bank, pledge book)" "$K" /me
run "administration" "$M" /admin
