#!/usr/bin/env bash
# The served OpenAPI document against the server: schemathesis generates requests for every operation (as the
# demo's administrator, and anonymously for the public ones) and fails on any 5xx, any status code or content
# type the document does not declare, and any body outside its declared schema.
#
#   scripts/api-fuzz.sh [path/to/dipr] [seconds]     (needs: pip install schemathesis)
set -euo pipefail
BIN="${1:-${CARGO_TARGET_DIR:-target}/release/dipr}"
SECONDS_BUDGET="${2:-120}"
WORK="$(mktemp -d)"
PORT=18991
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
# Quotas would answer the fuzzer 429 (documented) long before it explores anything. A registry without an
# SMTP server answers password-reset requests 503 (tested in tests/api/passwords.rs); with one configured the
# fuzzer explores the reset requests themselves (the mails, to a closed loopback port, fail in the background).
cat >"$WORK/dipr.toml" <<'TOML'
[limits]
api_search_quota = 0
api_read_quota = 0
api_write_quota = 0
api_export_quota = 0

[smtp]
host = "127.0.0.1"
port = 18992
from = "dipr <fuzz@dipr.localhost>"
tls = "none"
TOML
"$BIN" serve --demo --data-dir "$WORK" --listen "127.0.0.1:$PORT" >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$PORT/livez" >/dev/null 2>&1 && break
  sleep 0.5
done
TOKEN=$(DIPR_PASSWORD=dipr-demo-2026 "$BIN" client --server "http://127.0.0.1:$PORT" login --username admin)
# Signing out, revoking tokens or moving the demo's clock past the session's life would end the fuzzer's own
# session; everything else is exercised.
schemathesis run "http://127.0.0.1:$PORT/api/openapi.json" --url "http://127.0.0.1:$PORT" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --exclude-path /api/v1/auth/signout --exclude-path /api/v1/admin/clock --exclude-path-regex '^/api/v1/me/tokens/' \
  --max-time "$SECONDS_BUDGET" --workers 1 -H "Authorization: Bearer $TOKEN"
if grep -q "panicked" "$WORK/serve.log"; then
  grep -m5 "panicked" "$WORK/serve.log"
  exit 1
fi
