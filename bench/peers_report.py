"""Turns bench/peers.sh's results into its section of docs/benchmarks.md (between the peers
markers, replacing the previous one, appended when there is none) and prints it."""

import datetime
import json
import os
import sys

from sections import write_section

BEGIN = "<!-- peers:begin -->"
END = "<!-- peers:end -->"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OURS = ["Portcullis", "Portcullis, aws-lc-rs"]
PEERS = ["oidc-provider", "node-oauth2-server", "Flask"]
SERVERS = OURS + PEERS
SCENARIOS = [
    ("me", "protected API call"),
    ("jwks", "JWKS"),
    ("introspect", "introspection"),
    ("client_credentials", "client_credentials (the peers' tokens opaque)"),
    ("client_credentials_jwt", "client_credentials, RS256 JWT access tokens"),
    ("refresh", "refresh"),
    ("password", "password"),
]

# Measured, but not the same work: Flask's refresh neither rotates nor writes.
NOT_ALIKE = {("Flask", "refresh")}

results_path, connections, seconds, node_version = sys.argv[1:]
rows = [json.loads(line) for line in open(results_path)]
found = {(r["server"], r["scenario"]): r for r in rows}
# Portcullis's access tokens are always RS256 JWTs: one measurement fills both rows.
for ours in OURS:
    if (ours, "client_credentials") in found:
        found[(ours, "client_credentials_jwt")] = found[(ours, "client_credentials")]


def rate(server, scenario):
    r = found.get((server, scenario))
    if r is None:
        return "–"
    errors = f" ({r['errors']:,} errors)" if r["errors"] else ""
    unlike = " (not rotating)" if (server, scenario) in NOT_ALIKE else ""
    return f"{r['rps']:,.0f}/s{errors}{unlike}"


def cpu_per_request(server, scenario):
    """The server's CPU time per answered request, in ms: what a request costs it whatever
    share of the machine it got."""
    r = found.get((server, scenario))
    if r is None or not r["requests"]:
        return "–"
    return f"{1000 * r['server_cpu_s'] / r['requests']:.3g}"


def lead(scenario):
    """Portcullis's rate over the best peer's doing the same work, when both ran (in
    brackets, with the AWS-LC signer)."""
    best = max(
        (
            found[(s, scenario)]["rps"]
            for s in PEERS
            if (s, scenario) in found and (s, scenario) not in NOT_ALIKE
        ),
        default=0,
    )
    leads = [
        f"{found[(ours, scenario)]['rps'] / best:.2f}×"
        for ours in OURS
        if best and (ours, scenario) in found
    ]
    if not leads:
        return "–"
    return leads[0] + "".join(f" ({more})" for more in leads[1:])


def table(cell, last_column):
    header = ["scenario", *SERVERS] + ([last_column] if last_column else [])
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for scenario, label in SCENARIOS:
        cells = [label, *(cell(s, scenario) for s in SERVERS)]
        if last_column:
            cells.append(lead(scenario))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


rates = table(rate, "Portcullis ÷ best peer (aws-lc-rs)")
memory = [
    max((r["peak_rss_mb"] for r in rows if r["server"] == s and r["scenario"] == "peak_rss"),
        default=None)
    for s in SERVERS
]
rates.append(
    "| server peak RSS | "
    + " | ".join(f"{m:.0f} MB" if m is not None else "–" for m in memory)
    + " | |"
)
costs = table(cpu_per_request, None)

section = f"""{BEGIN}
## Against the peers

Measured by `bench/peers.sh` on {datetime.date.today().isoformat()}: each server alone on this
machine, on the same database server (the Rust SecantusDB), driven by the same load generator
(`bench/load.rs`, {connections} keep-alive connections, {seconds} s per scenario), one run.
Portcullis is configured as in the results above; its second column is the same server built
with the opt-in `aws-lc-rs` feature (signatures by AWS-LC instead of ring), measured where a
signature is the bound. The peers (`bench/peers/`, pinned):
node-oidc-provider 9.13.3 and @node-oauth/oauth2-server 5.3.0, each one Node {node_version}
process with its models in MongoDB, and a Flask 3.1 + flask-jwt-extended 4.7 server under
gunicorn (two workers of eight threads). Every password check is Argon2id at Portcullis's
parameters (m=19456 KiB, t=2, p=1). The peers' tokens are opaque and looked up in the database
(node-oidc-provider's and @node-oauth/oauth2-server's defaults), except Flask's, which are HS256
JWTs with a shared secret; node-oidc-provider's protected call is its userinfo endpoint, its
refresh answers with an id token (one RS256 signature, as Portcullis's JWT access token) and it
has no password grant; Flask does not rotate its refresh tokens and has no client credentials,
introspection or JWKS; @node-oauth/oauth2-server has neither introspection nor JWKS.

{chr(10).join(rates)}

Where Portcullis's lead is under 2×, a floor rather than the server sets the bound: a
client-credentials grant is one RS256 signature ([the floors above](#against-the-crypto-floors)),
which ring makes at about half OpenSSL's or AWS-LC's speed on this machine;
node-oidc-provider's JWT row pays the same signature through OpenSSL, its opaque row and
@node-oauth/oauth2-server pay none but store the token. A refresh is one atomic rotation in the
database, whose server is the bound ([where the time goes](#where-the-time-goes)); Flask's
refresh neither rotates nor writes, so the refresh token stays valid after use, and the lead
column leaves it out. A password grant
is one Argon2id verification on every core.

The server's CPU time per answered request (ms), which does not depend on how the machine's two
cores were shared between the server, the database and the load generator:

{chr(10).join(costs)}
{END}"""

print(section)
write_section(os.path.join(ROOT, "docs", "benchmarks.md"), BEGIN, END, section)
print("\nwrote docs/benchmarks.md", file=sys.stderr)
