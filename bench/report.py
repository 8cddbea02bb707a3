"""Turns the load generator's JSON lines into the benchmark table, checks the targets, and (on a
full run) writes docs/benchmarks.md. Used by bench/run.sh."""

import datetime
import json
import os
import platform
import sys

RSA_SIGN_MS = 0.73  # one RS256 (RSA-2048) signature on one core of the reference machine
ARGON2_MS = 17.0  # Argon2id m=19456 KiB, t=2, p=1 on one core of the reference machine

results_path, database, quick, connections, seconds, soak_path = sys.argv[1:]
rows = [json.loads(line) for line in open(results_path)]
by = {row["scenario"]: row for row in rows}


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


table = ["| Scenario | Requests/s | p50 ms | p99 ms | max ms | Errors | Server peak RSS MB |",
         "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
for row in rows:
    table.append(
        f"| {row['scenario']} | {row['rps']:.0f} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | "
        f"{row['max_ms']:.2f} | {row['errors']} | {row['peak_rss_mb']:.1f} |")

health = by["healthz"]["rps"]
floor_sign = 1000 / RSA_SIGN_MS  # the server gets about one of the two cores
floor_argon = 1000 / ARGON2_MS
checks = [
    ("`/api/me` ≥ 80% of `/healthz`", by["me"]["rps"] >= 0.8 * health,
     f"{100 * by['me']['rps'] / health:.0f}%"),
    ("`/api/me` p99 < 5 ms", by["me"]["p99_ms"] < 5, f"{by['me']['p99_ms']:.2f} ms"),
    ("`/oauth/introspect` ≥ 60% of `/healthz`", by["introspect"]["rps"] >= 0.6 * health,
     f"{100 * by['introspect']['rps'] / health:.0f}%"),
    ("`client_credentials` ≥ 50% of the RSA floor (one core)",
     by["client_credentials"]["rps"] >= 0.5 * floor_sign,
     f"{100 * by['client_credentials']['rps'] / floor_sign:.0f}%"),
    ("`refresh_token` ≥ 35% of the RSA floor (one core)", by["refresh"]["rps"] >= 0.35 * floor_sign,
     f"{100 * by['refresh']['rps'] / floor_sign:.0f}%"),
    ("`password` ≥ 80% of the Argon2 floor (one core)", by["password"]["rps"] >= 0.8 * floor_argon,
     f"{100 * by['password']['rps'] / floor_argon:.0f}%"),
    ("`/api/me` under password load drops < 30%",
     by["me (under password load)"]["rps"] >= 0.7 * by["me"]["rps"],
     f"{100 * (1 - by['me (under password load)']['rps'] / by['me']['rps']):.0f}% drop"),
    ("Server peak RSS < 100 MB", max(r["peak_rss_mb"] for r in rows) < 100,
     f"{max(r['peak_rss_mb'] for r in rows):.1f} MB"),
    ("No errors", all(r["errors"] == 0 for r in rows), f"{sum(r['errors'] for r in rows)} errors"),
]
# Resident memory sampled every 10 s of the soak; flat = the last sample within 10% of the first.
soak = [float(line) for line in open(soak_path)] if os.path.exists(soak_path) else []
if soak:
    checks.append(("Server RSS flat across the soak (last within 10% of first)",
                   soak[-1] <= 1.1 * soak[0], " → ".join(f"{mb:.1f}" for mb in soak) + " MB"))
targets = ["| Target | Met | Measured |", "| --- | --- | --- |"]
for name, met, measured in checks:
    targets.append(f"| {name} | {'yes' if met else '**no**'} | {measured} |")

print("\n".join(table))
print()
print("\n".join(targets))

if quick == "1":
    # A smoke run: it proves the benchmark works; its numbers (debug build) mean nothing.
    sys.exit(0 if all(r["requests"] > 0 for r in rows) else 1)

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
template = open(os.path.join(root, "bench", "benchmarks.md.in")).read()
docs_path = os.path.join(root, "docs", "benchmarks.md")
# bench/scale.sh's section (between its markers) is its own: kept as it is.
scale = ""
if os.path.exists(docs_path):
    previous = open(docs_path).read()
    begin, end = "<!-- scale:begin -->", "<!-- scale:end -->"
    if begin in previous and end in previous:
        scale = begin + previous.split(begin, 1)[1].split(end, 1)[0] + end
document = template.format(
    date=datetime.date.today().isoformat(),
    cpu=cpu_model(),
    cores=os.cpu_count(),
    database=database,
    connections=connections,
    seconds=seconds,
    table="\n".join(table),
    targets="\n".join(targets),
    soak_seconds=10 * len(soak),
    scale=scale,
)
with open(docs_path, "w") as out:
    out.write(document.rstrip("\n") + "\n")
print("\nwrote docs/benchmarks.md")
