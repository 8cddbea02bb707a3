"""Turns bench/scale.sh's results into its section of docs/benchmarks.md (between the scale
markers, replacing the previous one, appended when there is none) and the plot
docs/benchmarks-scale.png. Run from bench/.venv, which has matplotlib."""

import datetime
import json
import os
import sys
import textwrap

from sections import write_section

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend is chosen first)

BEGIN = "<!-- scale:begin -->"
END = "<!-- scale:end -->"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLOT = "benchmarks-scale.png"

results_path, database, connections, seconds = sys.argv[1:]
rows = [json.loads(line) for line in open(results_path)]


def of(kind, **match):
    return [r for r in rows if r["kind"] == kind and all(r.get(k) == v for k, v in match.items())]


counts = {r["db"]: r for r in of("counts")}
loads = {(r["db"], r["scenario"]): r for r in of("load")}
dbs = ["small", "large"]
total_s = of("total")[0]["seconds"] if of("total") else None


def n(value):
    return f"{value:,}"


def short(value):
    """10000 → 10k, 1000000 → 1M: the plot's tick labels."""
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if value >= size:
            return f"{value / size:.4g}{suffix}"
    return str(value)


def wrap(text):
    return textwrap.fill(" ".join(text.split()), width=96, break_on_hyphens=False)


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


# The measurements: what was measured, against how much of what.
measured = [("password", "users", "users", "Sign-in (`password` grant, a random seeded user)"),
            ("refresh", "families", "live refresh families",
             "Refresh rotation (a random seeded family)"),
            ("me", "revocations", "live revocations", "`GET /api/me` (token not revoked)")]
table = ["| Measurement | In the database | Requests/s | p50 ms | p99 ms | max ms | Errors | "
         "Server RSS MB (peak) | Load average after |",
         "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
for scenario, counted, noun, label in measured:
    for db in dbs:
        r = loads[(db, scenario)]
        table.append(
            f"| {label} | {n(counts[db][counted])} {noun} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | "
            f"{r['p99_ms']:.2f} | {r['max_ms']:.2f} | {r['errors']} | "
            f"{r['rss_mb']:.1f} ({r['peak_rss_mb']:.1f}) | {r['load1']} |")

starts = ["| Live revocations | Database time limit | Set loaded | `/readyz` after start | Start-up s "
          "| RSS after start MB | Peak RSS MB |",
          "| ---: | ---: | --- | ---: | ---: | ---: | ---: |"]
for r in of("start"):
    starts.append(
        f"| {n(counts[r['db']]['revocations'])} | {n(r['timeout_ms'])} ms | "
        f"{'yes' if r['loaded'] else '**no**'} | {r['readyz']} | {r['startup_s']:.2f} | "
        f"{r['rss_mb']:.1f} | "
        f"{r['peak_rss_mb']:.1f} |")

propagations = ["| Followed by | Rounds | Median ms | Max ms | Min ms |",
                "| --- | ---: | ---: | ---: | ---: |"]
for r in of("propagation"):
    how = ("change stream (`revocation_sync = \"auto\"`)" if r["followed_by"] == "change_stream"
           else "poll every 1000 ms (`revocation_sync = \"poll\"`)")
    propagations.append(f"| {how} | {r['rounds']} | {r['median_ms']:.1f} | {r['max_ms']:.1f} | "
                        f"{r['min_ms']:.1f} |")

seeding = []
for db in dbs:
    parts = [f"{n(r['inserted'])} {r['collection']} in {r['seconds']:.0f} s"
             for r in of("seed", db=db)]
    seeding.append(f"{db}: " + ", ".join(parts))
quiet = of("quiet")[0]

def log_ticks(ax, xs):
    """A log axis ticked at the measured sizes only, with room either side."""
    ax.set_xscale("log")
    ax.set_xlim(min(xs) / 2, max(xs) * 2)
    ax.set_xticks(xs, [short(x) for x in xs])
    ax.minorticks_off()


def headroom(ax):
    """From zero, with the top fifth of the panel left free for the legend."""
    ax.set_ylim(0, ax.get_ylim()[1] * 1.3)


def legend(ax, twin):
    """One legend for both axes of a panel, across its top."""
    lines, labels = ax.get_legend_handles_labels()
    more_lines, more_labels = twin.get_legend_handles_labels()
    twin.legend(lines + more_lines, labels + more_labels, loc="upper center", ncol=3, fontsize=8)


# The plot: one panel per measured path, latency against the data size (log scale).
fig, axes = plt.subplots(2, 2, figsize=(11, 8))
for ax, (scenario, counted, noun, label) in zip(axes.flat, measured):
    xs = [counts[db][counted] for db in dbs]
    for field, style, name in (("p50_ms", "o-", "p50"), ("p99_ms", "s--", "p99")):
        ax.plot(xs, [loads[(db, scenario)][field] for db in dbs], style, label=name)
    log_ticks(ax, xs)
    headroom(ax)
    ax.set_xlabel(noun)
    ax.set_ylabel("latency, ms")
    ax.set_title(label.replace("`", ""), fontsize=10)
    twin = ax.twinx()
    twin.plot(xs, [loads[(db, scenario)]["rps"] for db in dbs], "^:", color="tab:green",
              label="requests/s")
    headroom(twin)
    twin.set_ylabel("requests/s", color="tab:green")
    legend(ax, twin)
    ax.grid(alpha=0.3)
memory = axes.flat[3]
loaded = [r for r in of("start") if r["loaded"]]
xs = [counts[r["db"]]["revocations"] for r in loaded]
memory.plot(xs, [r["rss_mb"] for r in loaded], "o-", label="RSS after start")
memory.plot(xs, [r["peak_rss_mb"] for r in loaded], "s--", label="peak RSS (start-up)")
log_ticks(memory, xs)
headroom(memory)
memory.set_xlabel("live revocations")
memory.set_ylabel("server memory, MB")
memory.set_title("Server memory and start-up time", fontsize=10)
startup = memory.twinx()
startup.plot(xs, [r["startup_s"] for r in loaded], "^:", color="tab:green", label="start-up s")
headroom(startup)
startup.set_ylabel("start-up, s", color="tab:green")
legend(memory, startup)
memory.grid(alpha=0.3)
fig.suptitle(f"Portcullis capacity ({datetime.date.today().isoformat()}, "
             f"{os.cpu_count()} cores, {connections} connections)", fontsize=11)
fig.tight_layout()
fig.savefig(os.path.join(ROOT, "docs", PLOT), dpi=100)

# What changed from the small database to the large one, computed; the reading is by hand.
def change(scenario):
    small, large = loads[("small", scenario)], loads[("large", scenario)]
    return (f"requests/s {small['rps']:,.0f} → {large['rps']:,.0f}, "
            f"p50 {small['p50_ms']:.2f} → {large['p50_ms']:.2f} ms, "
            f"p99 {small['p99_ms']:.2f} → {large['p99_ms']:.2f} ms")


growth = [f"- Sign-in, {n(counts['small']['users'])} → {n(counts['large']['users'])} users: "
          f"{change('password')}.",
          f"- Refresh rotation, {n(counts['small']['families'])} → "
          f"{n(counts['large']['families'])} families: {change('refresh')}.",
          f"- `/api/me`, {n(counts['small']['revocations'])} → "
          f"{n(counts['large']['revocations'])} revocations: {change('me')}."]
by_db = {r["db"]: r for r in loaded}
if "small" in by_db and "large" in by_db:
    extra = counts["large"]["revocations"] - counts["small"]["revocations"]

    def per_entry(field):
        return (by_db["large"][field] - by_db["small"][field]) * 2**20 / extra

    growth.append(
        f"- The revocation set: RSS after start {by_db['small']['rss_mb']:.1f} → "
        f"{by_db['large']['rss_mb']:.1f} MB (≈ {per_entry('rss_mb'):.0f} bytes per entry), peak "
        f"{by_db['small']['peak_rss_mb']:.1f} → {by_db['large']['peak_rss_mb']:.1f} MB "
        f"(≈ {per_entry('peak_rss_mb'):.0f} bytes per entry while loading), start-up "
        f"{by_db['small']['startup_s']:.2f} → {by_db['large']['startup_s']:.2f} s.")

# The reading of the curves is written by hand after a run (it is the one part a script cannot
# know); it is kept from the previous section when there is one.
docs_path = os.path.join(ROOT, "docs", "benchmarks.md")
document = open(docs_path).read()
READING = "<!-- scale:reading -->"
reading = "(To be written: what grows, what stays flat, and why.)"
if READING in document and END in document:
    reading = document.split(READING, 1)[1].split(END, 1)[0].strip()

intro = wrap(f"""Measured by `bench/scale.sh` on {datetime.date.today().isoformat()}: {cpu_model()},
{os.cpu_count()} cores shared by the server, the load generator and the database. Database:
{database}. Two databases on it, each measured with a server of its own: a small one
({n(counts['small']['users'])} users, {n(counts['small']['families'])} live refresh families,
{n(counts['small']['revocations'])} live revocations) and a large one
({n(counts['large']['users'])}, {n(counts['large']['families'])} and
{n(counts['large']['revocations'])}); every seeded document is a copy of one the server stored
(bench/seed.py). {connections} keep-alive connections, {seconds} s per measurement, release build.
The machine is shared with other work: before measuring, the script waited {quiet['waited_s']} s
for the 1-minute load average to settle ({quiet['load1']} then); the table gives it at the end of
each measurement, counting the benchmark's own processes (two busy cores make about 2). These
numbers carry more noise than the ±10 % of the results above. Total run
time {round(total_s / 60) if total_s else '?'} min. Seeding: {'; '.join(seeding)}.""")

section = f"""{BEGIN}
## Capacity: cost against data size

{intro}

{chr(10).join(table)}

The revocation set, which the server loads before it listens (`/healthz` answering is counted as
started):

{chr(10).join(starts)}

Revocation propagation between two instances on one database (the small one): a token revoked on
A (`POST /oauth/revoke`), timed from A's answer until B refuses it on `/api/me` (B had accepted it
before, and is asked again every millisecond):

{chr(10).join(propagations)}

![Latency and throughput against data size]({PLOT})

From the small database to the large one:

{chr(10).join(textwrap.fill(line, width=96, subsequent_indent="  ") for line in growth)}

{READING}
{reading}
{END}"""

write_section(docs_path, BEGIN, END, section)
print("\n".join(table))
print()
print("\n".join(starts))
print()
print("\n".join(propagations))
print(f"\nwrote docs/benchmarks.md (scale section) and docs/{PLOT}")
