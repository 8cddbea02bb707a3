"""Turns the load generator's JSON lines into the benchmark table, checks the targets, and (on a
full run) writes docs/benchmarks.md. Used by bench/run.sh."""

import datetime
import json
import os
import platform
import sys

from sections import existing_section

results_path, database, quick, connections, seconds, soak_path, floors_path = sys.argv[1:]
rows = [json.loads(line) for line in open(results_path)]
by = {row["scenario"]: row for row in rows}
many = [row for row in rows if row["scenario"].endswith(" tokens)")]
few = [row for row in rows if row not in many]
# Measured on this machine by bench/floors.rs before the server started.
floors = json.load(open(floors_path))
RSA_SIGN_MS = 1000 / floors["rsa_sign_per_s_one_core"]
ARGON2_MS = 1000 / floors["argon2_per_s_one_core"]
# What each grant must do at the least: its signatures and password checks (the code flow's
# exchange with `openid` signs an access token and an id token).
GRANT_COST_MS = {
    "client_credentials": RSA_SIGN_MS,
    "refresh": RSA_SIGN_MS,
    "code_flow": 2 * RSA_SIGN_MS,
    "password": ARGON2_MS + RSA_SIGN_MS,
}


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cores_used(row, key):
    """Cores a process used during a measurement: its CPU seconds over the wall seconds."""
    return row.get(key, 0) / row["seconds"] if row.get("seconds") else 0


table = ["| Scenario | Requests/s | p50 ms | p99 ms | max ms | Errors | Server peak RSS MB | "
         "Server cores | Database cores |",
         "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
for row in rows:
    table.append(
        f"| {row['scenario']} | {row['rps']:.0f} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | "
        f"{row['max_ms']:.2f} | {row['errors']} | {row['peak_rss_mb']:.1f} | "
        f"{cores_used(row, 'server_cpu_s'):.2f} | {cores_used(row, 'database_cpu_s'):.2f} |")

def cores_got(row):
    return cores_used(row, "server_cpu_s")


# Each grant beside its floor: the most its crypto alone allows on the cores the server got,
# and on every core of the machine.
floor_table = ["| Grant | Requests/s | Server cores used | Floor on those cores | Ratio | "
               "Floor on all cores | Ratio |",
               "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
for scenario, cost_ms in GRANT_COST_MS.items():
    row = by[scenario]
    cores = cores_got(row)
    floor_got = cores * 1000 / cost_ms
    floor_all = floors["cores"] * 1000 / cost_ms
    if scenario == "password":
        # Argon2 on every core at once is slower than one core's rate times the cores
        # (shared memory bandwidth): take the measured all-core rate.
        floor_all = 1000 / (1000 / floors["argon2_per_s_all_cores"] + RSA_SIGN_MS / floors["cores"])
    floor_table.append(
        f"| {scenario} | {row['rps']:.0f} | {cores:.2f} | {floor_got:.0f} | "
        f"{100 * row['rps'] / floor_got if floor_got else 0:.0f}% | {floor_all:.0f} | "
        f"{100 * row['rps'] / floor_all:.0f}% |")

health = by["healthz"]["rps"]
floor_sign = 1000 / RSA_SIGN_MS  # one core
floor_argon_all = floors["argon2_per_s_all_cores"]
password_alone = by["password"]["rps"]
cc = by["client_credentials"]
checks = [
    ("`/api/me` ≥ 80% of `/healthz`", by["me"]["rps"] >= 0.8 * health,
     f"{100 * by['me']['rps'] / health:.0f}%"),
    ("`/api/me` p99 < 5 ms", by["me"]["p99_ms"] < 5, f"{by['me']['p99_ms']:.2f} ms"),
    ("`/oauth/introspect` ≥ 60% of `/healthz`", by["introspect"]["rps"] >= 0.6 * health,
     f"{100 * by['introspect']['rps'] / health:.0f}%"),
    ("`client_credentials` ≥ 85% of the RSA floor on the cores the server used",
     cc["rps"] >= 0.85 * cores_got(cc) * floor_sign,
     f"{100 * cc['rps'] / (cores_got(cc) * floor_sign):.0f}%"),
    ("`refresh_token` ≥ 35% of the RSA floor (one core)", by["refresh"]["rps"] >= 0.35 * floor_sign,
     f"{100 * by['refresh']['rps'] / floor_sign:.0f}%"),
    ("`password` alone ≥ 90% of the all-core Argon2 floor", password_alone >= 0.9 * floor_argon_all,
     f"{100 * password_alone / floor_argon_all:.0f}%"),
    ("`/api/me` under password load drops < 30%",
     by["me (under password load)"]["rps"] >= 0.7 * by["me"]["rps"],
     f"{100 * (1 - by['me (under password load)']['rps'] / by['me']['rps']):.0f}% drop"),
    ("Server peak RSS < 100 MB (one token a connection)", max(r["peak_rss_mb"] for r in few) < 100,
     f"{max(r['peak_rss_mb'] for r in few):.1f} MB"),
    ("No errors", all(r["errors"] == 0 for r in rows), f"{sum(r['errors'] for r in rows)} errors"),
]
# The many-live-tokens rows, against the same scenario with one token a connection.
for row in many:
    base = by[row["scenario"].split(" (")[0]]
    checks.append((f"`{row['scenario']}` ≥ 80% of the one-token rate",
                   row["rps"] >= 0.8 * base["rps"], f"{100 * row['rps'] / base['rps']:.0f}%"))
if many:
    checks.append((f"Server peak RSS ≤ 200 MB with {many[0]['scenario'].split('(')[1].rstrip(')')}",
                   many[-1]["peak_rss_mb"] <= 200, f"{many[-1]['peak_rss_mb']:.1f} MB"))
# Resident memory sampled every 10 s of the soak; flat = the last sample within 10% of the first.
soak = [float(line) for line in open(soak_path)] if os.path.exists(soak_path) else []
if soak:
    checks.append(("Server RSS flat across the soak (last within 10% of first)",
                   soak[-1] <= 1.1 * soak[0], " → ".join(f"{mb:.1f}" for mb in soak) + " MB"))
targets = ["| Target | Met | Measured |", "| --- | --- | --- |"]
for name, met, measured in checks:
    targets.append(f"| {name} | {'yes' if met else '**no**'} | {measured} |")

floor_note = (
    f"One access token signed (claims, base64url, one RS256 signature through ring) takes "
    f"{RSA_SIGN_MS:.2f} ms on one core ({floors['rsa_sign_per_s_all_cores']:.0f}/s on all "
    f"{floors['cores']}); one Argon2id verification at the default cost (m=19456 KiB, t=2, p=1) "
    f"{ARGON2_MS:.1f} ms ({floor_argon_all:.0f}/s on all {floors['cores']}). Measured by "
    f"`bench/floors.rs` before the server starts.")

print("\n".join(table))
print()
print("\n".join(floor_table))
print()
print(floor_note)
print()
print("\n".join(targets))

if quick == "1":
    # A smoke run: it proves the benchmark works; its numbers (debug build) mean nothing.
    sys.exit(0 if all(r["requests"] > 0 for r in rows) else 1)

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
template = open(os.path.join(root, "bench", "benchmarks.md.in")).read()
docs_path = os.path.join(root, "docs", "benchmarks.md")
# bench/scale.sh's and bench/peers.sh's sections (between their markers) are theirs: kept as
# they are.
previous = open(docs_path).read() if os.path.exists(docs_path) else ""
kept = {
    name: existing_section(previous, f"<!-- {name}:begin -->", f"<!-- {name}:end -->")
    for name in ("scale", "peers")
}
document = template.format(
    date=datetime.date.today().isoformat(),
    cpu=cpu_model(),
    cores=os.cpu_count(),
    database=database,
    connections=connections,
    seconds=seconds,
    table="\n".join(table),
    floors="\n".join(floor_table),
    floor_note=floor_note,
    targets="\n".join(targets),
    soak_seconds=10 * len(soak),
    scale=kept["scale"],
    peers=kept["peers"],
)
with open(docs_path, "w") as out:
    out.write(document.rstrip("\n") + "\n")
print("\nwrote docs/benchmarks.md")
