#!/usr/bin/env bash
# The production shape under load: several stateless `dipr serve` processes on one PostgreSQL database.
#
#   scripts/three-servers.sh [path/to/dipr]        (default: $CARGO_TARGET_DIR/release/dipr, else target/release/dipr)
#
# Creates a fresh database and one data directory per server (each with a copy of the same registry.key and
# the same dipr.toml: adjustable clock, timers every second, sign-up and sign-in budgets and API quotas lifted,
# long sessions),
# starts the servers on free loopback ports, then at once:
#   - runs `dipr bench http` against every server (drafts, submissions, public search);
#   - drives filings across servers (applicant on one, examiners on the two others) to public notice or to a
#     correction request, and moves every server's clock past the deadlines at the same moment, twice, so the
#     timers of all processes race to register them (allocating registration and certificate numbers) or to
#     deem them withdrawn.
# Then it stops the servers (SIGTERM, which must drain cleanly) and checks with SQL and the CLI: no duplicate or
# missing registration or certificate number, a gapless log with exactly one entry per logged event, each
# deadline fired exactly once, `dipr ledger check` passes, a certificate fetched from one server verifies with
# the key shown from another's data directory, and no request got a 5xx. Exits non-zero on any failed check.
#
# Environment: DIPR_TEST_POSTGRES_URL (a database on the server to use; a new database is created beside it and
# dropped afterwards), DIPR_SERVERS (3), WORKERS (bench workers in all, 12), SUBMISSIONS (bench filings in all,
# 4500), SEARCH_SECONDS (5), LANE_FILINGS (filings per applicant per round, 15), ROUNDS (2), KEEP=1 (keep the
# work directory and the database for inspection).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${1:-${CARGO_TARGET_DIR:-target}/release/dipr}
[ -x "$BIN" ] || { echo "no dipr binary at $BIN: cargo build --release --bin dipr" >&2; exit 2; }
BIN=$(realpath "$BIN")
BASE_URL=${DIPR_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
SERVERS=${DIPR_SERVERS:-3}
WORKERS=${WORKERS:-12}
SUBMISSIONS=${SUBMISSIONS:-4500}
SEARCH_SECONDS=${SEARCH_SECONDS:-5}
export LANE_FILINGS=${LANE_FILINGS:-15} ROUNDS=${ROUNDS:-2}
export STAFF_PASSWORD="three-servers-$$-pw"
STARTED=$(date +%s.%N)

DB="dipr_three_$$_$RANDOM"
DB_URL="${BASE_URL%/*}/$DB"
WORK=$(mktemp -d -t dipr-three.XXXXXX)
PIDS=()
BENCHES=()
FAILURES=()
fail() { FAILURES+=("$*"); echo "FAILED: $*" >&2; }

cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ "$rc" -ne 0 ]; then
    for log in "$WORK"/s*/serve.log; do
      [ -f "$log" ] && { echo "--- last lines of $log"; tail -n 15 "$log"; } >&2
    done
  fi
  if [ "${KEEP:-0}" = 1 ]; then
    echo "kept $WORK and the database $DB_URL" >&2
  else
    psql "$BASE_URL" -Xq -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'echo "three-servers: line $LINENO failed: $BASH_COMMAND" >&2' ERR

# From template0, which no session is ever connected to (a copy of template1 fails while anyone is).
psql "$BASE_URL" -Xq -v ON_ERROR_STOP=1 -c "CREATE DATABASE $DB TEMPLATE template0" >/dev/null
export DIPR_DATABASE_URL="$DB_URL"
export NO_COLOR=1

# One data directory per process, as on separate machines: the same key (0600) and the same configuration.
cat >"$WORK/dipr.toml" <<'TOML'
timer_interval_secs = 1
adjustable_clock = true
session_hours = 8760

[limits]
sign_up_client_burst = 100000
sign_in_client_burst = 100000
# A load test, not a client: the API quotas are lifted.
api_search_quota = 0
api_read_quota = 0
api_write_quota = 0
api_export_quota = 0
TOML
mkdir -m 700 "$WORK/s1"
cp "$WORK/dipr.toml" "$WORK/s1/"
# The first command creates the key in s1 and migrates the database; the staff accounts are made the way an
# operator bootstraps them.
DIPR_PASSWORD="$STAFF_PASSWORD" "$BIN" admin create-user --data-dir "$WORK/s1" --username admin --role admin >/dev/null
for n in $(seq 1 "$SERVERS"); do
  if [ "$n" -gt 1 ]; then
    mkdir -m 700 "$WORK/s$n"
    cp "$WORK/dipr.toml" "$WORK/s$n/"
    install -m 600 "$WORK/s1/registry.key" "$WORK/s$n/registry.key"
  fi
  DIPR_PASSWORD="$STAFF_PASSWORD" "$BIN" admin create-user --data-dir "$WORK/s$n" --username "examiner$n" \
    --role examiner >/dev/null
done

# All servers start at once, each on a free port it reports.
for n in $(seq 1 "$SERVERS"); do
  "$BIN" serve --data-dir "$WORK/s$n" --listen 127.0.0.1:0 --adjustable-clock >"$WORK/s$n/serve.log" 2>&1 &
  PIDS+=($!)
done
URLS=()
for n in $(seq 1 "$SERVERS"); do
  url=""
  for _ in $(seq 1 120); do
    url=$(sed -n 's/^dipr listening on \(http:[^ ]*\) (postgres database).*/\1/p' "$WORK/s$n/serve.log" | head -n 1)
    [ -n "$url" ] && break
    kill -0 "${PIDS[$((n - 1))]}" 2>/dev/null || break
    sleep 0.5
  done
  [ -n "$url" ] || { echo "server $n did not start" >&2; exit 1; }
  curl -fsS "$url/healthz" >/dev/null
  URLS+=("$url")
done
echo "servers: ${URLS[*]} (one PostgreSQL database, $DB)"

# Load on every server at once. Runs are told apart by their start in milliseconds: stagger them.
for n in $(seq 1 "$SERVERS"); do
  timeout 150 "$BIN" bench http --server "${URLS[$((n - 1))]}" --concurrency $((WORKERS / SERVERS)) \
    --submissions $((SUBMISSIONS / SERVERS)) --search-seconds "$SEARCH_SECONDS" \
    >"$WORK/bench$n.out" 2>"$WORK/bench$n.err" &
  BENCHES+=($!)
  sleep 0.05
done

# Meanwhile: filings across servers, and every clock moved past their deadlines at the same moment.
timeout 150 python3 - "${URLS[*]}" "$WORK" <<'PY' || fail "the cross-server filings (see above)"
import http.client, json, os, sys, threading, time, traceback, urllib.parse, uuid

SERVERS = sys.argv[1].split()
WORK = sys.argv[2]
S = len(SERVERS)
LANE, ROUNDS, PASSWORD = int(os.environ["LANE_FILINGS"]), int(os.environ["ROUNDS"]), os.environ["STAFF_PASSWORD"]
RUN = uuid.uuid4().hex[:8]
lock = threading.Lock()
statuses = [{} for _ in SERVERS]
failures = []
local = threading.local()


class Refused(Exception):
    pass


def call(s, method, path, token=None, body=None):
    """One request to server s on this thread's keep-alive connection (a fresh one after 5 s idle, never a retry)."""
    conns = local.__dict__.setdefault("conns", {})
    c, last = conns.get(s, (None, 0))
    if c is None or time.monotonic() - last > 5:
        if c is not None:
            c.close()
        u = urllib.parse.urlsplit(SERVERS[s])
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    data = json.dumps(body).encode() if body is not None else None
    headers = {"content-type": "application/json"} if data is not None else {}
    if token:
        headers["authorization"] = "Bearer " + token
    c.request(method, path, body=data, headers=headers)
    r = c.getresponse()
    raw = r.read()
    conns[s] = (c, time.monotonic())
    with lock:
        statuses[s][r.status] = statuses[s].get(r.status, 0) + 1
        if r.status >= 500:
            failures.append(f"{SERVERS[s]} {method} {path}: {r.status} {raw[:200]!r}")
    if not 200 <= r.status < 300:
        raise Refused(f"{SERVERS[s]} {method} {path}: {r.status} {raw[:300]!r}")
    return json.loads(raw) if raw else None


def parallel(fn, args):
    errors = []

    def run(a):
        try:
            fn(*a)
        except Exception:
            errors.append(traceback.format_exc(limit=2))

    threads = [threading.Thread(target=run, args=(a,)) for a in args]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise Refused("\n".join(errors))


CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def credit_code(n):
    body = "91110000%09d" % (n % 10**9)
    return body + CHARSET[(31 - sum(CHARSET.index(ch) * w for ch, w in zip(body, WEIGHTS)) % 31) % 31]


def form(name):
    return {
        "product_name": name, "object_type": "data_collection", "industry": "model_corpus",
        "scenarios": ["大模型训练"], "summary": "多进程登记用语料",
        "sources": [{"kind": "self_collected", "description": "自有平台采集"}],
        "legality_statement": "数据来源合法", "no_infringement_commitment": True,
        "processing": "去重、清洗、脱敏", "structure": [{"name": "text", "type": "string"}],
        "format": "jsonl", "update_frequency": "monthly", "samples": ["{\"text\": \"示例\"}"],
        "contact": {"name": "张三"},
    }


def sign_in(s, username, password):
    return call(s, "POST", "/api/v1/auth/signin", body={"username": username, "password": password})["token"]


out = {"filings": [], "rounds": [], "registration_numbers": []}
try:
    # Staff sign in on one server and act on another: tokens live in the database.
    admin = sign_in(0, "admin", PASSWORD)
    examiner = [sign_in((k + 1) % S, f"examiner{k + 1}", PASSWORD) for k in range(S)]
    applicant = []
    for j in range(S):
        user = f"lane-{RUN}-{j}"
        party = {"kind": "legal_person", "name": f"多进程{RUN}数据有限公司{j}",
                 "id_number": credit_code(int(RUN, 16) * 8 + j)}
        call(j, "POST", "/api/v1/auth/signup", body={"username": user, "password": "lane password 123",
             "display_name": user, "role": "applicant", "party": party})
        applicant.append(sign_in(j, user, "lane password 123"))

    def decide(s, id, action, **extra):
        call(s, "POST", f"/api/v1/review/applications/{id}/decision", examiner[s],
             {"action": action, "reasons": f"理由：{action}", **extra})

    def lane(j, r, filed):
        a, e1, e2 = j, (j + 1) % S, (j + 2) % S
        for k in range(LANE):
            id = call(a, "POST", "/api/v1/applications", applicant[j], {"form": form(f"多进程语料 {RUN}-{r}-{j}-{k}")})["id"]
            call(a, "POST", f"/api/v1/applications/{id}/submit", applicant[j])
            decide(e1, id, "accept")
            if k % 5 == 4:
                decide(e2, id, "request_correction", items=["样例"])
                filed.append((id, "deemed_withdrawn", j))
            else:
                decide(e2, id, "pass_formal_review")
                decide(e1, id, "approve")
                filed.append((id, "registered", j))

    for r in range(ROUNDS):
        filed = []
        t0 = time.monotonic()
        parallel(lane, [(j, r, filed) for j in range(S)])
        t1 = time.monotonic()
        # Every clock moves past the deadlines (notice: 10 working days; correction: 30 days) together; each move
        # runs that server's timers at once, and the timer tasks (every second) join in.
        barrier = threading.Barrier(S)

        def move(s):
            barrier.wait()
            call(s, "POST", "/api/v1/admin/clock", admin, {"days": 45})

        parallel(move, [(s,) for s in range(S)])
        t2 = time.monotonic()
        deadline = time.monotonic() + 60
        for n, (id, want, j) in enumerate(filed):
            while True:
                state = call(n % S, "GET", f"/api/v1/applications/{id}", applicant[j])["state"]
                if state == want:
                    break
                if time.monotonic() > deadline:
                    raise Refused(f"{id} is {state}, not {want}, a minute after its deadline passed")
                time.sleep(0.2)
        out["rounds"].append({"filings": len(filed), "to_deadline_s": t1 - t0, "clocks_moved_s": t2 - t1,
                              "settled_s": time.monotonic() - t2})
        out["filings"] += filed
    # Each registration as the public sees it on a server other than the applicant's.
    for id, want, j in out["filings"]:
        if want == "registered":
            rec = call((j + 2) % S, "GET", f"/api/v1/public/records/{id}")["record"]
            out["registration_numbers"].append(rec["registration"]["registration_number"])
    if len(set(out["registration_numbers"])) != len(out["registration_numbers"]):
        failures.append("the public records show a registration number twice")
    last = next(id for id, want, j in reversed(out["filings"]) if want == "registered")
    cert = call(S - 1, "GET", f"/api/v1/public/records/{last}/certificate")
    with open(os.path.join(WORK, "certificate.json"), "w") as f:
        json.dump(cert, f, ensure_ascii=False)
except Exception as e:
    failures.append(f"{type(e).__name__}: {e}")
out["statuses"] = [{str(k): v for k, v in sorted(s.items())} for s in statuses]
out["failures"] = failures
with open(os.path.join(WORK, "driver.json"), "w") as f:
    json.dump(out, f)
for line in failures:
    print("driver:", line, file=sys.stderr)
sys.exit(1 if failures else 0)
PY

for n in $(seq 1 "$SERVERS"); do
  wait "${BENCHES[$((n - 1))]}" || fail "dipr bench http against server $n: $(tail -n 3 "$WORK/bench$n.err")"
done

# Stop every server the way a service manager does: each must drain and exit 0.
for pid in "${PIDS[@]}"; do kill -TERM "$pid"; done
for n in $(seq 1 "$SERVERS"); do
  rc=0
  timeout 30 tail --pid="${PIDS[$((n - 1))]}" -f /dev/null || true
  wait "${PIDS[$((n - 1))]}" || rc=$?
  [ "$rc" -eq 0 ] || fail "server $n exited with status $rc after SIGTERM"
done
PIDS=()

# Checks against the database.
q() { psql "$DB_URL" -XAtq -v ON_ERROR_STOP=1 -F ' ' -c "$1"; }
expect() { # what query wanted
  local got
  got=$(q "$2") || { fail "$1: the query failed"; return; }
  [ "$got" = "$3" ] || fail "$1: expected '$3', got '$(echo "$got" | head -n 5 | tr '\n' ';')'"
}
EXPECTED=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(",".join("(%r, %r)" % (id, want) for id, want, _ in d["filings"]) or "(NULL, NULL)")' "$WORK/driver.json")

# Numbers: allocated once each, from sequences that lose nothing (an allocation commits with its registration).
NUMBERS="SELECT payload::jsonb->>'registration_number' AS r, payload::jsonb->>'certificate_number' AS c
           FROM events WHERE subject_type = 'application' AND kind = 'notice_ended'"
expect "no registration number allocated twice" \
  "SELECT r FROM ($NUMBERS) n GROUP BY r HAVING count(*) > 1" ""
expect "no certificate number allocated twice" \
  "SELECT c FROM ($NUMBERS) n GROUP BY c HAVING count(*) > 1" ""
expect "registration numbers 1..n in each year, as the sequence counted" \
  "SELECT k FROM (SELECT 'registration:' || substr(r, 1, 4) AS k, count(*) AS n, max(substr(r, 7, 9)::bigint) AS m
                  FROM ($NUMBERS) x GROUP BY 1) n LEFT JOIN sequences s ON s.name = n.k
    WHERE n.n <> n.m OR s.value IS DISTINCT FROM n.n" ""
expect "certificate numbers 1..n in each month, as the sequence counted" \
  "SELECT k FROM (SELECT 'certificate:' || substr(c, 1, 6) AS k, count(*) AS n, max(substr(c, 11, 6)::bigint) AS m
                  FROM ($NUMBERS) x GROUP BY 1) n LEFT JOIN sequences s ON s.name = n.k
    WHERE n.n <> n.m OR s.value IS DISTINCT FROM n.n" ""
expect "every registered record holds the numbers its event allocated, and its certificate is that event's entry" \
  "SELECT a.id FROM applications a LEFT JOIN events e ON e.subject_id = a.id AND e.kind = 'notice_ended'
     LEFT JOIN certificate_revisions c ON c.application_id = a.id AND c.revision = 1
     LEFT JOIN log_entries l ON l.idx = c.log_index
    WHERE a.state = 'registered' AND (a.registration_number IS DISTINCT FROM e.payload::jsonb->>'registration_number'
      OR a.doc::jsonb->'registration'->>'certificate_number' IS DISTINCT FROM e.payload::jsonb->>'certificate_number'
      OR c.registration_number IS DISTINCT FROM a.registration_number
      OR c.doc::jsonb->'statement'->>'certificate_number' IS DISTINCT FROM e.payload::jsonb->>'certificate_number'
      OR l.event_id IS DISTINCT FROM e.id)
   UNION ALL SELECT application_id FROM certificate_revisions c WHERE NOT EXISTS
     (SELECT 1 FROM applications a WHERE a.id = c.application_id AND a.state = 'registered')" ""

# Timers: each deadline fired exactly once, and every filing ended where the driver expected.
expect "no timer transition twice" \
  "SELECT subject_id, kind FROM events WHERE kind IN ('notice_ended', 'deemed_withdrawn') GROUP BY 1, 2
   HAVING count(*) > 1" ""
expect "each cross-server filing reached its end once, by the timer" \
  "WITH x(id, want) AS (VALUES $EXPECTED)
   SELECT x.id, a.state FROM x LEFT JOIN applications a ON a.id = x.id
    WHERE a.state IS DISTINCT FROM x.want
       OR (SELECT count(*) FROM events e
            WHERE e.subject_id = x.id AND e.kind = 'notice_ended' AND e.actor_role = 'system')
          <> (x.want = 'registered')::int
       OR (SELECT count(*) FROM events e
            WHERE e.subject_id = x.id AND e.kind = 'deemed_withdrawn' AND e.actor_role = 'system')
          <> (x.want = 'deemed_withdrawn')::int" ""

# The log: indexes 0..n-1, the counter and the newest checkpoint at n, and one entry for each logged event (every
# event of a filing from its notice on), holding that event.
LOG=$(q "SELECT count(*) FROM log_entries")
expect "the log is gapless" \
  "SELECT count(*), coalesce(min(idx), 0), coalesce(max(idx) + 1, 0), count(DISTINCT event_id) FROM log_entries" \
  "$LOG 0 $LOG $LOG"
expect "the log counter and the newest checkpoint are at the log's size" \
  "SELECT (SELECT coalesce(max(value), 0) FROM sequences WHERE name = 'log'),
          (SELECT coalesce(max(size), 0) FROM log_checkpoints)" "$LOG $LOG"
expect "one entry per logged event" \
  "WITH published AS (SELECT subject_id, min(id) AS first FROM events
                       WHERE subject_type = 'application' AND kind = 'notice_published' GROUP BY 1),
        logged AS (SELECT e.* FROM events e JOIN published p ON p.subject_id = e.subject_id AND e.id >= p.first
                    WHERE e.subject_type = 'application')
   SELECT 'not logged', id FROM logged WHERE NOT EXISTS (SELECT 1 FROM log_entries l WHERE l.event_id = logged.id)
   UNION ALL SELECT 'not a logged event', l.idx FROM log_entries l WHERE NOT EXISTS
     (SELECT 1 FROM logged WHERE logged.id = l.event_id)
   UNION ALL SELECT 'entry of another event', l.idx FROM log_entries l JOIN events e ON e.id = l.event_id
    WHERE (convert_from(l.entry, 'UTF8')::jsonb->>'event_id')::bigint <> e.id
       OR convert_from(l.entry, 'UTF8')::jsonb->>'kind' <> e.kind
       OR convert_from(l.entry, 'UTF8')::jsonb->>'subject' <> e.subject_id" ""

# The CLI: the log against every signed checkpoint, and a certificate served by one server checked offline against
# the key as another server's data directory holds it.
if timeout 60 "$BIN" ledger check --data-dir "$WORK/s1" >"$WORK/ledger-check.json" 2>"$WORK/ledger-check.err"; then
  entries=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["entries"])' "$WORK/ledger-check.json")
  [ "$entries" = "$LOG" ] || fail "dipr ledger check saw $entries entries, the table holds $LOG"
else
  fail "dipr ledger check: $(head -c 600 "$WORK/ledger-check.json" "$WORK/ledger-check.err")"
fi
if [ -f "$WORK/certificate.json" ]; then
  "$BIN" verify "$WORK/certificate.json" --trusted-key "$("$BIN" key show --data-dir "$WORK/s$SERVERS")" >/dev/null ||
    fail "dipr verify refused a certificate served by server $SERVERS"
fi

# Every request answered without a server error, and every timer pass completed (servers' own logs); the summary.
python3 - "$WORK" "$SERVERS" "$LOG" "$STARTED" >"$WORK/summary.txt" 2>"$WORK/summary.err" <<'PY' ||
import json, re, sys, time

work, servers, log_size, started = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
driver = json.load(open(f"{work}/driver.json"))
TIMER = re.compile(r"TimerReport \{ registered: (\d+), deemed_withdrawn: (\d+), expired: \d+, skipped: (\d+) \}")
LOGGED_PROBLEMS = [("5xx answers", r"response failed"), ("panics", r"panicked"),
                   ("failed timer passes", r"timer pass failed"), ("errors", r"\bERROR\b")]
problems, rows, spans = [], [], {"submissions": [], "searches": []}
fired = {"registered": 0, "deemed_withdrawn": 0}
for n in range(1, servers + 1):
    text = re.sub(r"\x1b\[[0-9;]*m", "", open(f"{work}/s{n}/serve.log", encoding="utf-8", errors="replace").read())
    for what, pattern in LOGGED_PROBLEMS:
        if count := len(re.findall(pattern, text)):
            problems.append(f"server {n}: {count} {what} in its log")
    mine = [sum(int(m[i]) for m in TIMER.finditer(text)) for i in (1, 2, 3)]
    fired["registered"] += mine[0]
    fired["deemed_withdrawn"] += mine[1]
    lines = [l for l in open(f"{work}/bench{n}.err", encoding="utf-8", errors="replace") if l.startswith("{")]
    phases = {p["phase"]: p for p in (json.loads(lines[-1])["phases"] if lines else [])}
    if set(phases) != {"drafts", "submissions", "searches"}:
        problems.append(f"server {n}: no report from dipr bench http")
    for p in phases.values():
        if p["errors"]:
            problems.append(f"server {n}: {p['errors']} failed {p['phase']} in dipr bench http")
    answers = driver["statuses"][n - 1] if len(driver.get("statuses", [])) >= n else {}
    if bad := {k: v for k, v in answers.items() if k.startswith("5")}:
        problems.append(f"server {n}: the cross-server filings got {bad}")
    sub, search = (phases.get(k, {"per_second": 0.0})["per_second"] for k in ("submissions", "searches"))
    for k in spans:
        spans[k] += [phases[k]] if k in phases else []
    driven = sum(answers.values())
    requests = sum(p["requests"] + p["errors"] for p in phases.values()) + driven
    rows.append(f"  server {n}: {requests:>6} requests ({driven} cross-server), {sub:5.0f} submissions/s, "
                f"{search:5.0f} searches/s; its timers fired {mine[0]} registrations and {mine[1]} withdrawals, "
                f"skipped {mine[2]} already fired")
wanted = {k: sum(1 for _, w, _ in driver["filings"] if w == k) for k in fired}
if fired != wanted:
    problems.append(f"the timer passes logged {fired}, the filings needed {wanted}")


def overall(phases):
    """Requests of one phase of every bench over the time from the first one's start to the last one's end."""
    n = sum(p["requests"] for p in phases)
    span = max((p["ended_unix"] for p in phases), default=1) - min((p["began_unix"] for p in phases), default=0)
    return f"{n / span:.0f} {{}}/s ({n} in {span:.1f} s)"


print(f"{servers} server(s) on one PostgreSQL database, {time.time() - started:.0f} s in all")
print("\n".join(rows))
print(f"  overall: {overall(spans['submissions']).format('submissions')}, "
      f"{overall(spans['searches']).format('searches')}, from the first bench's start of the phase to the last's end")
print(f"  {wanted['registered']} registrations and {wanted['deemed_withdrawn']} deemed withdrawals by the timers in "
      f"{len(driver['rounds'])} rounds; log size {log_size}")
for p in problems:
    print("problem:", p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
  fail "$(cat "$WORK/summary.err")"
cat "$WORK/summary.txt"

if [ "${#FAILURES[@]}" -gt 0 ]; then
  echo "three-servers: ${#FAILURES[@]} check(s) failed" >&2
  exit 1
fi
echo "three-servers: every check passed"
