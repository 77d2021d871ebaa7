#!/usr/bin/env python3
"""Abuse figures for docs/BENCHMARKS.md, against a demo server started here (loopback, release build).

  cargo build --release --bin dipr && python3 scripts/bench-abuse.py [--bin target/release/dipr]

1. Peak memory (VmHWM of the server process) under N parallel wrong sign-ins (default 500), each from its
   own source address (127.0.x.y), so per-client throttles do not hide the cost of hashing.
2. Latency of a normal request (the record's public page, JSON) while 1,000 anonymous objections of the
   largest allowed size are sent at one record from 50 addresses, against the same request at rest; and the
   size of that record's stored document before and after.
"""
import argparse
import http.client
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import tempfile
import threading
import time

PORT = 18181


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def post(path, body, source="127.0.0.1", timeout=300):
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=timeout, source_address=(source, 0))
    data = json.dumps(body).encode()
    conn.request("POST", path, body=data, headers={"content-type": "application/json"})
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp.status


def get_ms(path):
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=300)
    conn.request("GET", path)
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return (time.perf_counter() - start) * 1e3


def source(i):
    return f"127.0.{1 + i // 250}.{1 + i % 250}"


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.environ.get("BIN", "target/release/dipr"))
    ap.add_argument("--sign-ins", type=int, default=500)
    ap.add_argument("--objections", type=int, default=1000)
    args = ap.parse_args()
    data = tempfile.mkdtemp(prefix="dipr-bench-abuse-")
    log = open(os.path.join(data, "serve.log"), "w")
    server = subprocess.Popen(
        [args.bin, "serve", "--demo", "--data-dir", data, "--listen", f"127.0.0.1:{PORT}"], stderr=log, stdout=log
    )
    try:
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", PORT), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        time.sleep(1)
        pid = server.pid

        # 1. A flood of wrong sign-ins, all at once.
        rss_before = status_kib(pid, "VmRSS")
        statuses = {}
        lock = threading.Lock()

        def wrong(i):
            try:
                s = post("/api/v1/auth/signin", {"username": "user01", "password": "wrong password"}, source(i))
            except OSError as e:
                s = type(e).__name__
            with lock:
                statuses[s] = statuses.get(s, 0) + 1

        start = time.perf_counter()
        threads = [threading.Thread(target=wrong, args=(i,)) for i in range(args.sign_ins)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = time.perf_counter() - start
        ok = post("/api/v1/auth/signin", {"username": "user01", "password": "dipr-demo-2026"}, "127.0.9.9")
        print(f"sign-in flood: {args.sign_ins} parallel wrong sign-ins answered {statuses} in {took:.1f} s")
        print(f"  server RSS before {rss_before / 1024:.0f} MiB, peak (VmHWM) {status_kib(pid, 'VmHWM') / 1024:.0f} MiB, "
              f"after {status_kib(pid, 'VmRSS') / 1024:.0f} MiB; the real user then signs in: {ok}")

        # 2. Objections against one record on notice, while a normal request is timed.
        conn = http.client.HTTPConnection("127.0.0.1", PORT)
        conn.request("GET", "/api/v1/public/notices?per_page=1")
        rec = json.loads(conn.getresponse().read())["items"][0]["id"]
        db = sqlite3.connect(f"file:{data}/dipr.db?mode=ro", uri=True)
        doc_size = lambda: db.execute("SELECT length(doc) FROM applications WHERE id = ?", (rec,)).fetchone()[0]
        size_before = doc_size()
        page = f"/api/v1/public/records/{rec}"
        at_rest = [get_ms(page) for _ in range(200)]
        objection = {"objector_name": "刷子", "objector_contact": "c" * 200, "grounds": "异" * 20000}
        results = {}
        during = []
        done = threading.Event()

        def sender(k):
            for j in range(args.objections // 50):
                try:
                    s = post(f"/api/v1/public/records/{rec}/objections", objection, source(1000 + k))
                except OSError as e:
                    s = type(e).__name__
                with lock:
                    results[s] = results.get(s, 0) + 1

        def timer():
            while not done.is_set():
                during.append(get_ms(page))

        t0 = time.perf_counter()
        probe = threading.Thread(target=timer)
        probe.start()
        senders = [threading.Thread(target=sender, args=(k,)) for k in range(50)]
        for t in senders:
            t.start()
        for t in senders:
            t.join()
        done.set()
        probe.join()
        took = time.perf_counter() - t0
        q = lambda xs: f"p50 {statistics.median(xs):.2f} ms, p99 {percentile(xs, 0.99):.2f} ms, max {max(xs):.1f} ms"
        print(f"objections: {sum(results.values())} sent in {took:.1f} s, answered {results}")
        print(f"  record document {size_before} bytes before, {doc_size()} after")
        print(f"  GET {page.replace(rec, '{id}')} at rest: {q(at_rest)} ({len(at_rest)} requests)")
        print(f"  the same during the objections: {q(during)} ({len(during)} requests)")
    finally:
        server.terminate()
        server.wait(timeout=120)


if __name__ == "__main__":
    main()
