"""``make bench``: seed a national dataset, serve it with gunicorn, load it, print the table.

    python -m bench.run            # 500 orgs, 5,000 users, 300,000 cases, 1,000,000 referrals
    python -m bench.run --small    # 50 orgs, 500 users, 9,000 cases, 30,000 referrals

Uses the database ``coalition_bench`` on the local PostgreSQL (BENCH_DATABASE_URL
to change it); seeds it only when it does not already hold a dataset of the asked
sizes. The server runs with production settings (DEBUG off, pooled connections,
gthread workers) plus COALITION_BENCH=true, which mounts the framework floor and
the X-DB-Queries header; the load comes from ``bench.load`` in another process.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
# Bench-only key: the seeded identities are fictional and the ciphertexts must
# stay readable from one run to the next.
BENCH_FIELD_KEY = "YmVuY2gtb25seS1maWN0aW9uYWwtZGF0YS0zMmJ5dGU="
# Fixed like the field key, so that a reused dataset's signed chain head still verifies.
BENCH_AUDIT_HEAD_KEY = "bench-only-audit-head-key-for-fictional-data-0123456789"
TARGETS = {  # p95 targets in ms (issue #6)
    "referrals incoming": 50, "referrals outgoing": 50, "referral detail": 50,
    "referral create (draft)": 100, "referral send": 100, "referral accept": 100,
    "events feed": 30, "statistics (year)": 1000,
}
FLOOR_RATIO_LIMIT = {"referrals incoming": 1.5, "referrals outgoing": 1.5, "referral detail": 1.5}


def _environment(database_url: str) -> dict:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "JWT_SIGNING_KEY": secrets.token_urlsafe(50),
        "AUDIT_HEAD_KEY": BENCH_AUDIT_HEAD_KEY,
        # The limits are lifted above, so a per-process cache is fine here (or set CACHE_URL).
        "CACHE_ALLOW_PER_PROCESS": "true",
        "FIELD_ENCRYPTION_KEYS": BENCH_FIELD_KEY,
        "SECURE_SSL_REDIRECT": "false",  # plain http on loopback
        "ALLOWED_HOSTS": "127.0.0.1",
        "EMAIL_URL": "memorymail://",
        "DEFAULT_FROM_EMAIL": "bench@example.org",
        "PUBLIC_BASE_URL": "https://referrals.example.org",
        "THROTTLE_PRINCIPAL": "100000000/min",
        "THROTTLE_ANON": "100000000/min",
        "COALITION_BENCH": "true",
        "DATABASE_POOL": env.get("DATABASE_POOL", "true"),
        "LOG_LEVEL": "WARNING",
        "GUNICORN_ACCESS_LOG": "/dev/null",  # formatted as in production, not kept
        "GUNICORN_MAX_REQUESTS": "0",  # no recycling: peak memory is read per worker at the end
        "DJANGO_SETTINGS_MODULE": "coalition.settings",
    })
    return env


def _prepare_database(database_url: str, sizes, *, reseed: bool) -> bool:
    """Create the database if needed; empty it when its dataset differs. True if a seed is needed."""
    info = psycopg.conninfo.conninfo_to_dict(database_url)
    name = info.pop("dbname")
    with psycopg.connect(**info, dbname="postgres", autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        current = None
        if exists:
            with psycopg.connect(database_url) as conn:
                if conn.execute("SELECT to_regclass('bench_dataset')").fetchone()[0]:
                    row = conn.execute("SELECT sizes FROM bench_dataset").fetchone()
                    current = json.loads(row[0]) if row else None
        if exists and current == asdict(sizes) and not reseed:
            return False
        if exists:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            if f"\nPPid:\t{pid}\n" in status:
                found.append(int(entry.name))
    return found


def _memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _scenario_data(sizes) -> dict:
    """Users, ids and cursors the scenarios need, read once from the seeded database."""
    from django.db import connection

    from bench.seed import AUDITOR_USERNAME, BUSY_ORG_SLUG, COORDINATOR_USERNAME
    from partners.models import Organisation, User
    from partners.tokens import issue_tokens_for_tests

    busy = Organisation.objects.get(slug=BUSY_ORG_SLUG)
    caseworkers = list(User.objects.filter(organisation=busy, roles__has_item="caseworker").order_by("username")[:8])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM referrals_referral WHERE sender_id = %s OR (recipient_id = %s AND sent_at IS NOT NULL) "
            "ORDER BY md5(id::text) LIMIT 2000", [busy.pk, busy.pk])
        visible = [str(row[0]) for row in cursor.fetchall()]
        # Pending referrals any partner can accept (one per case, so no two acceptances
        # collide), each with a token of a caseworker of its recipient: each run uses
        # some up, so they are drawn from every organisation, not only the busiest.
        cursor.execute(
            "SELECT id, recipient_id FROM (SELECT DISTINCT ON (r.case_id) r.id, r.recipient_id "
            "FROM referrals_referral r JOIN referrals_case c ON c.id = r.case_id "
            "WHERE r.status IN ('sent', 'acknowledged') AND c.status = 'open' "
            "AND NOT EXISTS (SELECT 1 FROM referrals_involvement i WHERE i.case_id = r.case_id "
            "AND i.organisation_id = r.recipient_id AND i.ended_at IS NULL) ORDER BY r.case_id, r.id) pending "
            "ORDER BY md5(id::text) LIMIT 5000")
        acceptable = [(str(pk), recipient) for pk, recipient in cursor.fetchall()]
        cursor.execute(
            "SELECT c.id, (SELECT k.id FROM referrals_consent k WHERE k.case_id = c.id LIMIT 1) FROM referrals_case c "
            "WHERE c.lead_organisation_id = %s AND c.status = 'open' AND (SELECT count(*) FROM referrals_involvement i "
            "WHERE i.case_id = c.id AND i.ended_at IS NULL) = 1 ORDER BY md5(c.id::text) LIMIT 500", [busy.pk])
        cases = cursor.fetchall()
        cursor.execute("SELECT event_id FROM events_eventaudience WHERE organisation_id = %s "
                       "ORDER BY event_id DESC OFFSET 1000 LIMIT 1", [busy.pk])
        row = cursor.fetchone()
        after = row[0] if row else 0
    partners = [str(pk) for pk in Organisation.objects.exclude(kind="coordinator").exclude(pk=busy.pk)
                .values_list("pk", flat=True)]
    sends = [{"case": str(case), "consent": str(consent), "recipient": partners[n % len(partners)]}
             for n, (case, consent) in enumerate(cases * 20)]
    accepters = {user.organisation_id: user for user in User.objects.filter(
        organisation_id__in={recipient for _, recipient in acceptable}, roles__has_item="caseworker", is_active=True,
    ).order_by("organisation_id", "username").distinct("organisation_id")}
    tokens = {org: issue_tokens_for_tests(user).access for org, user in accepters.items()}
    acceptable = [{"id": pk, "token": tokens[org]} for pk, org in acceptable if org in tokens]
    return {
        "caseworkers": caseworkers,
        "web_sessions": _web_sessions(caseworkers),
        "coordinator": User.objects.get(username=COORDINATOR_USERNAME),
        "auditor": User.objects.get(username=AUDITOR_USERNAME),
        "visible": visible, "acceptable": acceptable, "sends": sends, "after": after,
    }


def scenarios(data: dict) -> list[dict]:
    """The endpoints measured, as data: a route that answers 404 is reported as not available."""
    year = datetime.now(UTC).year - 1
    detail = [f"/api/v1/referrals/{pk}/" for pk in data["visible"]]
    return [
        {"name": "framework floor", "kind": "get", "persona": "caseworker", "items": ["/api/v1/bench/floor/"]},
        {"name": "referrals incoming", "kind": "get", "persona": "caseworker",
         "items": ["/api/v1/referrals/?direction=incoming"], "page_size_check": True},
        {"name": "referrals outgoing", "kind": "get", "persona": "caseworker",
         "items": ["/api/v1/referrals/?direction=outgoing"], "page_size_check": True},
        {"name": "referral detail", "kind": "get", "persona": "caseworker", "items": detail},
        {"name": "create and send", "kind": "create_send", "persona": "caseworker", "items": data["sends"],
         "probe": "/api/v1/referrals/"},
        {"name": "referral accept", "kind": "accept", "persona": "caseworker", "items": data["acceptable"],
         "probe": "/api/v1/referrals/"},
        {"name": "events feed", "kind": "get", "persona": "caseworker",
         "items": [f"/api/v1/events/?after={data['after']}"]},
        {"name": "oversight overdue", "kind": "get", "persona": "coordinator", "items": ["/api/v1/oversight/overdue/"],
         "page_size_check": True},
        {"name": "statistics (year)", "kind": "get", "persona": "coordinator",
         "items": [f"/api/v1/statistics/referrals/?year={year}"]},
        {"name": "audit search by object", "kind": "get", "persona": "auditor",
         "items": [f"/api/v1/audit/entries/?object_id={pk}" for pk in data["visible"][:200]]},
        # The web app's pages, in a caseworker's signed-in session (a session cookie, not a token).
        {"name": "web inbox", "kind": "get", "persona": "caseworker", "web": True, "items": ["/app/"]},
        {"name": "web referral page", "kind": "get", "persona": "caseworker", "web": True,
         "items": [f"/app/referrals/{pk}/" for pk in data["visible"]]},
    ]


def _web_sessions(users) -> list[str]:
    """A ``Cookie`` header per user: a web session signed in as the test client signs in (tests/support/web.py)."""
    from django.conf import settings
    from django.test import Client

    cookies = []
    for user in users:
        client = Client()
        client.force_login(user)
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}")
    return cookies


def _tokens(data: dict, persona: str) -> list[str]:
    from partners.tokens import issue_tokens_for_tests

    users = data["caseworkers"] if persona == "caseworker" else [data[persona]]
    return [issue_tokens_for_tests(user).access for user in users]


def _query_counts(base_url: str, token: str, path: str) -> dict:
    """Queries per request at three page sizes: constant if the list has no N+1."""
    counts = {}
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}) as client:
        for size in (5, 50, 200):
            sep = "&" if "?" in path else "?"
            response = client.get(f"{path}{sep}page_size={size}")
            counts[size] = response.headers.get("x-db-queries", "?")
    return counts


def _not_measured(scenario: dict, status: int, *, web: bool) -> str | None:
    """Why a scenario cannot be measured, if so: a missing route, or a web page that does not
    answer a signed-in caseworker (a redirect to sign in), or nothing to work on."""
    if not scenario["items"]:
        return "no work items in the dataset"
    if status == 404 or (web and status != 200):
        return f"route answers {status}"
    return None


def _wait_until_healthy(base_url: str) -> None:
    """Wait for gunicorn to answer /healthz (about 20 s at most)."""
    for _ in range(100):
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer /healthz.")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="50 orgs, 500 users, 9,000 cases, 30,000 referrals")
    parser.add_argument("--organisations", type=int)
    parser.add_argument("--users", type=int)
    parser.add_argument("--cases", type=int)
    parser.add_argument("--referrals", type=int)
    parser.add_argument("--duration", type=float, help="seconds of load per endpoint (default 20, --small 5)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--reseed", action="store_true", help="seed again even if the dataset exists")
    parser.add_argument("--seed-only", action="store_true", help="seed (if needed) and stop before the load")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="measure only endpoints whose name contains NAME (repeatable; the floor always runs)")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results.md"))
    args = parser.parse_args(argv)

    database_url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/coalition_bench")
    env = _environment(database_url)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    from bench.sizes import SMALL, Sizes

    preset = SMALL if args.small else Sizes()
    sizes = Sizes(
        organisations=args.organisations or preset.organisations, users=args.users or preset.users,
        cases=args.cases or preset.cases, referrals=args.referrals or preset.referrals,
    )
    duration = args.duration or (5 if args.small else 20)
    need_seed = _prepare_database(database_url, sizes, reseed=args.reseed)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from coalition.audit.models import AuditEntry
    from coalition.events.models import Event, EventAudience
    from coalition.models import IdempotencyRecord
    from referrals.models import Case, Involvement, Referral

    call_command("migrate", verbosity=0, interactive=False)
    if need_seed:
        from bench.seed import seed

        print(f"Seeding {sizes} ...", flush=True)
        started = time.monotonic()
        counts = seed(sizes)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(f"Seeded in {time.monotonic() - started:.0f} s: {counts}", flush=True)
    else:
        print(f"Dataset {sizes} already seeded; reusing it (--reseed to start over).", flush=True)
        # What an earlier run's writes left (dead rows, pages no longer all-visible) is
        # cleaned up as autovacuum would in production, so index-only scans stay so.
        with connection.cursor() as cursor:
            for model in (Referral, Case, Involvement, Event, EventAudience, AuditEntry, IdempotencyRecord):
                cursor.execute(f'VACUUM (ANALYZE) "{model._meta.db_table}"')
    if args.seed_only:
        return 0
    data = _scenario_data(sizes)
    connection.close()

    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "coalition.wsgi"],
        cwd=ROOT, env=env | {"GUNICORN_BIND": f"127.0.0.1:{port}"},
    )
    rows, notes = [], []
    try:
        _wait_until_healthy(base_url)
        workers = _children(server.pid)
        print(f"gunicorn pid {server.pid}, workers {workers}, {base_url}; {duration:g} s per endpoint at "
              f"concurrency {args.concurrency}", flush=True)
        chosen = [sc for sc in scenarios(data) if not args.only or sc["name"] == "framework floor"
                  or any(part in sc["name"] for part in args.only)]
        for scenario in chosen:
            tokens = _tokens(data, scenario["persona"])
            cookies = data["web_sessions"] if scenario.get("web") else None
            credentials = {"Cookie": cookies[0]} if cookies else {"Authorization": f"Bearer {tokens[0]}"}
            probe = scenario.get("probe") or scenario["items"][0] if scenario["items"] else None
            status = httpx.get(base_url + probe, headers=credentials).status_code if probe else 0
            reason = _not_measured(scenario, status, web=bool(cookies))
            if reason:
                rows.append({"name": scenario["name"], "na": f"not available ({reason})"})
                print(f"  {scenario['name']}: not available ({reason})", flush=True)
                continue
            # A short warm-up, then the measured run.
            spec = {"base_url": base_url, "concurrency": args.concurrency, "tokens": tokens, "cookies": cookies,
                    "kind": scenario["kind"], "name": scenario["name"], "items": scenario["items"]}
            if scenario["kind"] == "get":
                subprocess.run([sys.executable, "-m", "bench.load"], input=json.dumps(spec | {"duration": 1}),
                               capture_output=True, text=True, cwd=ROOT, check=True)
            result = subprocess.run([sys.executable, "-m", "bench.load"], input=json.dumps(spec | {"duration": duration}),
                                    capture_output=True, text=True, cwd=ROOT, check=True)
            for tag, figures in json.loads(result.stdout).items():
                if tag == "create and send":
                    continue
                rows.append({"name": tag, **figures})
                print(f"  {tag}: {figures['requests']} requests, p95 {figures['p95_ms']:.1f} ms, "
                      f"statuses {figures['statuses']}", flush=True)
            if scenario.get("page_size_check"):
                counts = _query_counts(base_url, tokens[0], scenario["items"][0])
                notes.append(f"- {scenario['name']}: queries per request at page_size 5 / 50 / 200: "
                             f"{' / '.join(str(counts[s]) for s in (5, 50, 200))}")
        peaks = {pid: _memory_kb(pid, "VmHWM") for pid in workers if Path(f"/proc/{pid}").exists()}
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()

    report = _report(rows, notes, peaks, sizes, duration, args.concurrency)
    print("\n" + report)
    Path(args.output).write_text(report)
    print(f"Written to {args.output}")
    return 0


def _report(rows, notes, peaks, sizes, duration, concurrency) -> str:
    floor = next((r for r in rows if r["name"] == "framework floor" and "na" not in r), None)
    lines = [
        f"Dataset: {sizes.organisations:,} organisations, {sizes.users:,} users, {sizes.cases:,} cases, "
        f"{sizes.referrals:,} referrals. Load: concurrency {concurrency}, {duration:g} s per endpoint, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores.",
        "",
        "| endpoint | requests | errors | rps | p50 ms | p95 ms | p99 ms | queries/request | p95 / floor | target p95 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        if "na" in row:
            lines.append(f"| {row['name']} | {row['na']} | | | | | | | | |")
            continue
        ratio = f"{row['p95_ms'] / floor['p95_ms']:.2f}×" if floor else "–"
        queries = f"{row['queries_avg']:.1f}" if row["queries_avg"] is not None else "–"
        target = TARGETS.get(row["name"])
        verdict = ""
        if target:
            met = row["p95_ms"] < target
            limit = FLOOR_RATIO_LIMIT.get(row["name"])
            if limit and floor:
                met = met and row["p95_ms"] <= limit * floor["p95_ms"]
                verdict = f"< {target} ms and ≤ {limit}× floor: {'met' if met else 'MISSED'}"
            else:
                verdict = f"< {target} ms: {'met' if met else 'MISSED'}"
        lines.append(
            f"| {row['name']} | {row['requests']} | {row['errors']} | {row['rps']:.1f} | {row['p50_ms']:.1f} | "
            f"{row['p95_ms']:.1f} | {row['p99_ms']:.1f} | {queries} | {ratio} | {verdict} |"
        )
    peak_mb = max(peaks.values(), default=0) / 1024
    lines += [
        "",
        f"Peak worker memory (VmHWM, {len(peaks)} gunicorn workers): "
        + ", ".join(f"{kb / 1024:.0f} MB" for kb in peaks.values())
        + f"; highest {peak_mb:.0f} MB (target < 200 MB: {'met' if peak_mb < 200 else 'MISSED'}).",
        "",
        "Query counts by page size (constant means no N+1):",
        *notes,
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
