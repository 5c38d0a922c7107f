"""Seed a national-scale coalition fast: bulk COPY on PostgreSQL, executemany elsewhere.

The rows are valid for the application: identity fields are real ciphertexts
(a handful of fictional values encrypted once with ``coalition.crypto.encrypt``
and reused), every open case has exactly one open lead involvement and each
organisation at most one open involvement per case, referral states carry
consistent timestamps and deadlines, each transition has its event (with
EventAudience rows for both parties) and its audit entry.

Not like production: the audit entries of seeded rows carry placeholder hashes,
so ``verify_chain()`` fails on a seeded database (the chain head is moved past
them so that new entries still append); event ``seq`` follows seeding order
(case by case), not time order.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta

from django.db import connection, transaction

from coalition.audit.models import AuditChainHead, AuditEntry
from coalition.crypto import encrypt
from coalition.events.models import Event, EventAudience
from partners.models import Organisation, User
from referrals.models import Case, Consent, Involvement, Referral, Subject

from .sizes import Sizes

PHENOMENA = ["child_prostitution", "teen_pimp", "sextortion", "grooming", "sexting", "abuse_images",
             "child_sex_tourism", "boys_prostitution", "trafficking", "other_online_exploitation"]
PARTNER_KINDS = ["hotline", "ngo", "care_provider", "shelter", "police_liaison", "child_protection"]
SERVICES = ["shelter", "counselling", "case_management", "legal_support", "medical", "outreach"]
URGENCY_HOURS = {"immediate": (1, 4), "urgent": (4, 24), "normal": (48, 120)}
REGIONS = ["BE-VAN", "BE-VOV", "BE-VWV", "BE-VBR", "BE-VLI", "BE-BRU", "BE-WHT", "BE-WLG", "NL-NH", "NL-ZH"]
GENDERS = ["female", "male", "non_binary", "unknown"]
BUSY_SHARE = 0.08  # the busiest organisation (a national hotline) sends or receives this share
CHUNK_CASES = 5000
META_TABLE = "bench_dataset"


def org_slug(index: int) -> str:
    return "bench-coordination" if index == 0 else f"bench-org-{index:04d}"


BUSY_ORG_SLUG = org_slug(1)
COORDINATOR_USERNAME = "bench-coordinator"
AUDITOR_USERNAME = "bench-auditor"


def busy_caseworker_usernames(sizes: Sizes) -> list[str]:
    """The busiest organisation's caseworkers (users are dealt to partners in turn)."""
    partners = sizes.organisations - 1
    return [f"bench-user-{n:05d}" for n in range(2, sizes.users) if (n - 2) % partners == 0 and n - 2 >= partners]


# --- writing ------------------------------------------------------------------------


def _columns(model, names: list[str]) -> list[str]:
    return [model._meta.get_field(name).column for name in names]


class Writer:
    """Rows per table, flushed with COPY (PostgreSQL) or executemany (SQLite, for tests)."""

    def __init__(self):
        self.postgres = connection.vendor == "postgresql"
        self.buffers: dict = {}

    def add(self, model, names: list[str], row: tuple) -> None:
        self.buffers.setdefault((model, tuple(names)), []).append(row)

    def flush(self) -> None:
        """Write buffered rows, parents before children, in one transaction."""
        order = [Organisation, User, Case, Subject, Consent, Referral, Involvement, Event, EventAudience, AuditEntry]
        keys = sorted(self.buffers, key=lambda key: order.index(key[0]))
        with transaction.atomic(), connection.cursor() as cursor:
            if self.postgres:
                # Skip the per-row foreign-key triggers for this bulk load (superuser
                # only; unique indexes still hold). The rows are built consistent.
                cursor.execute("SET LOCAL session_replication_role = replica")
            for model, names in keys:
                rows = self.buffers[(model, names)]
                if rows:
                    self._write(cursor, model._meta.db_table, _columns(model, list(names)), rows)
        self.buffers = {key: [] for key in self.buffers}

    def _write(self, cursor, table: str, columns: list[str], rows: list[tuple]) -> None:
        column_list = ", ".join(f'"{c}"' for c in columns)
        if self.postgres:
            # COPY text format built by hand: several times faster than adapting each
            # value; the seeded values hold no tab, newline or backslash.
            data = "".join("\t".join(map(_copy_text, row)) + "\n" for row in rows)
            with cursor.cursor.copy(f'COPY "{table}" ({column_list}) FROM STDIN') as copy:
                copy.write(data.encode())
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f'INSERT INTO "{table}" ({column_list}) VALUES ({marks})', [_sqlite_row(r) for r in rows])


def _sqlite_row(row: tuple) -> tuple:
    out = []
    for value in row:
        if isinstance(value, uuid.UUID):
            value = value.hex
        elif isinstance(value, datetime):
            value = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
        elif isinstance(value, date):
            value = value.isoformat()
        out.append(value)
    return tuple(out)


def _copy_text(value) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


_json_cache: dict = {}


def _json(value) -> str:
    key = repr(value)
    text = _json_cache.get(key)
    if text is None:
        text = _json_cache[key] = json.dumps(value)
    return text


# --- the dataset ------------------------------------------------------------------


class Seeder:
    def __init__(self, sizes: Sizes, *, now: datetime | None = None, seed: int = 2026):
        self.sizes = sizes
        self.now = now or datetime.now(UTC).replace(microsecond=0)
        self.rng = random.Random(seed)
        self.writer = Writer()
        self.event_seq = 0
        self.audit_seq = 0
        self.counts = {"events": 0, "audience": 0, "audit": 0, "involvements": 0}
        # A few fictional identities, encrypted once and reused (encryption is the slow part).
        names = ["Noor", "Lina", "Sam", "Jade", "Milan", "Yasmine", "Lucas", "Emma"]
        self.cipher_names = [encrypt(n) for n in names]
        self.cipher_birth = [encrypt(f"{2006 + i}-0{1 + i}-1{i}") for i in range(8)]
        self.cipher_year = [encrypt(str(2006 + i)) for i in range(8)]
        self.cipher_gender = [encrypt(g) for g in GENDERS]
        self.cipher_text = encrypt("Fictional benchmark text: no real person.")
        self.cipher_safe = encrypt("Only call the school social worker.")

    # organisations and users ---------------------------------------------------

    def organisations(self) -> None:
        names = ["id", "slug", "name", "kind", "country", "regions", "languages", "phenomena", "min_age", "max_age",
                 "accepting_referrals", "membership_status", "data_sharing_agreement_signed_on", "description",
                 "website", "contact_email", "contact_phone", "caseworker_mfa_required", "created_at", "updated_at"]
        self.org_ids = []
        start = self.now - timedelta(days=5 * 365)
        for i in range(self.sizes.organisations):
            org_id = uuid.uuid5(uuid.NAMESPACE_URL, f"bench-org-{i}")
            self.org_ids.append(org_id)
            kind = "coordinator" if i == 0 else PARTNER_KINDS[i % len(PARTNER_KINDS)]
            country = "NL" if i % 4 == 3 else "BE"
            self.writer.add(Organisation, names, (
                org_id, org_slug(i), f"Benchmark organisation {i}", kind, country,
                _json(REGIONS[i % 5:(i % 5) + 3]), _json(["nl", "fr"] if country == "BE" else ["nl"]),
                _json(PHENOMENA[i % 7:(i % 7) + 4]), 0, 18, True, "active", start.date(), "", "", "", "", False,
                start, start,
            ))
        self.partners = self.org_ids[1:]
        self.busy = self.org_ids[1]

    def users(self) -> None:
        names = ["id", "password", "last_login", "is_superuser", "username", "first_name", "last_name", "email",
                 "is_staff", "is_active", "date_joined", "organisation", "roles", "token_version"]
        self.caseworker_of = {}
        partners = len(self.partners)
        for n in range(self.sizes.users):
            user_id = uuid.uuid5(uuid.NAMESPACE_URL, f"bench-user-{n}")
            if n == 0:
                username, org, roles = COORDINATOR_USERNAME, self.org_ids[0], ["coordinator"]
            elif n == 1:
                username, org, roles = AUDITOR_USERNAME, self.org_ids[0], ["auditor"]
            else:
                org = self.partners[(n - 2) % partners]
                first_of_org = n - 2 < partners
                username, roles = f"bench-user-{n:05d}", ["org_admin"] if first_of_org else ["caseworker"]
                if not first_of_org:
                    self.caseworker_of.setdefault(org, user_id)
            self.writer.add(User, names, (
                user_id, "!bench-no-password", None, False, username, "", "", f"{username}@bench.invalid",
                False, True, self.now - timedelta(days=900), org, _json(roles), 0,
            ))

    # cases, referrals, involvements, events, audit --------------------------------

    def _org(self, exclude=()) -> uuid.UUID:
        while True:
            org = self.busy if self.rng.random() < BUSY_SHARE else self.rng.choice(self.partners)
            if org not in exclude:
                return org

    def _audit(self, action: str, at: datetime, org, object_type: str, object_id, case_id, detail=None) -> None:
        self.audit_seq += 1
        self.writer.add(AuditEntry, AUDIT_FIELDS, (
            self.audit_seq, at, action, self.caseworker_of.get(org), None, org, object_type, str(object_id), case_id,
            "", _json(detail or {}), "bench" + "0" * 59, "bench" + "0" * 59,
        ))
        self.counts["audit"] += 1

    def _event(self, type_: str, at: datetime, case_id, referral_id, parties, data) -> None:
        self.event_seq += 1
        parties = sorted({str(p) for p in parties})
        self.writer.add(Event, EVENT_FIELDS, (
            self.event_seq, uuid.UUID(int=self.rng.getrandbits(128), version=4), type_, at, case_id, referral_id,
            _json(parties), _json(data),
        ))
        for party in parties:
            self.writer.add(EventAudience, ["organisation", "event"], (uuid.UUID(party), self.event_seq))
        self.counts["events"] += 1
        self.counts["audience"] += len(parties)

    def _involvement(self, case_id, org, role, started, ended, referral_id) -> None:
        self.writer.add(Involvement, INVOLVEMENT_FIELDS, (uuid.UUID(int=self.rng.getrandbits(128), version=4),
                                                          case_id, org, role, started, ended, referral_id))
        self.counts["involvements"] += 1

    def cases_and_referrals(self, progress=print) -> None:
        sizes, rng = self.sizes, self.rng
        base, extra = divmod(sizes.referrals, sizes.cases)
        span = 3 * 365 * 24 * 3600
        for index in range(sizes.cases):
            count = base + (1 if index < extra else 0)
            self._case(index, count, self.now - timedelta(seconds=rng.randrange(span)))
            if index % CHUNK_CASES == CHUNK_CASES - 1:
                self.writer.flush()
                if index % (CHUNK_CASES * 10) == CHUNK_CASES * 10 - 1:
                    progress(f"  {index + 1} cases")
        self.writer.flush()

    def _case(self, index: int, referral_count: int, opened: datetime) -> None:
        rng = self.rng
        case_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        lead = opener = self._org()
        phenomenon = rng.choice(PHENOMENA)
        # Old cases are mostly closed; a closed case has no pending referral.
        age_days = (self.now - opened).days
        closed = age_days > 120 and rng.random() < min(0.85, age_days / 700)
        i = rng.randrange(8)
        self.writer.add(Subject, SUBJECT_FIELDS, (
            case_id, self.cipher_names[i], "", self.cipher_birth[i], self.cipher_year[i], self.cipher_gender[i % 4],
            "", "", self.cipher_safe, "", opened,
        ))
        consent_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        self.writer.add(Consent, CONSENT_FIELDS, (
            consent_id, case_id, "young_person", "verbal", _json(["care_referral", "information_sharing", "police_report"]),
            _json([]), opened.date(), None, None, lead, opened,
        ))
        self._audit("case.open", opened, lead, "case", case_id, case_id)
        self._audit("consent.record", opened, lead, "consent", consent_id, case_id)
        open_supporting: dict = {}  # org -> involvement start
        lead_since, lead_referral = opened, None
        t = opened
        for n in range(referral_count):
            last = n == referral_count - 1
            t = min(t + timedelta(hours=rng.randrange(2, 24 * 30)), self.now - timedelta(minutes=5))
            recipient = self._org(exclude={lead, *open_supporting})
            kind = "transfer" if rng.random() < 0.2 else "service"
            if last and not closed and rng.random() < 0.35:
                status = rng.choice(["sent", "sent", "acknowledged", "draft"])
            else:
                status = rng.choices(["accepted", "completed", "declined", "withdrawn"], [35, 30, 22, 13])[0]
                if kind == "transfer" and status == "completed":
                    status = "accepted"
            urgency = rng.choices(["immediate", "urgent", "normal"], [10, 30, 60])[0]
            r = self._referral(case_id, consent_id, lead, recipient, kind, status, urgency, phenomenon, t)
            if status == "accepted" and kind == "transfer":
                self._involvement(case_id, lead, "lead", lead_since, r["accepted_at"], lead_referral)
                self._event("case.lead_transferred", r["accepted_at"], case_id, r["id"], [lead, recipient],
                            {"from": str(lead), "to": str(recipient)})
                lead, lead_since, lead_referral = recipient, r["accepted_at"], r["id"]
            elif status == "accepted":
                open_supporting[recipient] = (r["accepted_at"], r["id"])
            elif status == "completed":
                self._involvement(case_id, recipient, "supporting", r["accepted_at"], r["completed_at"], r["id"])
            t = max(t, r["last"])
        closed_at = None
        if closed:
            closed_at = min(t + timedelta(days=rng.randrange(1, 60)), self.now - timedelta(minutes=1))
        for org, (started, referral_id) in open_supporting.items():
            self._involvement(case_id, org, "supporting", started, closed_at, referral_id)
        self._involvement(case_id, lead, "lead", lead_since, None, lead_referral)
        self.writer.add(Case, CASE_FIELDS, (
            case_id, "closed" if closed else "open", lead, _json([phenomenon]), rng.choice(REGIONS), opened,
            opener,
            closed_at, "safe_and_supported" if closed else "", 1, closed_at or t, False, "",
        ))
        if closed:
            self._audit("case.close", closed_at, lead, "case", case_id, case_id, {"outcome": "safe_and_supported"})
            self._event("case.closed", closed_at, case_id, None, [lead, *open_supporting], {"outcome": "safe_and_supported"})

    def _referral(self, case_id, consent_id, sender, recipient, kind, status, urgency, phenomenon, created):
        rng = self.rng
        referral_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        at = {"created": created}
        ack_h, decide_h = URGENCY_HOURS[urgency]
        sent = ack_due = decide_due = None
        if status != "draft" and not (status == "withdrawn" and rng.random() < 0.2):
            sent = created + timedelta(minutes=rng.randrange(1, 90))
            ack_due, decide_due = sent + timedelta(hours=ack_h), sent + timedelta(hours=decide_h)
        stamps = dict.fromkeys(["acknowledged", "accepted", "declined", "withdrawn", "completed"])
        step = lambda base, hours: min(base + timedelta(minutes=rng.randrange(5, int(hours * 90) + 10)),  # noqa: E731
                                       self.now - timedelta(minutes=1))
        if sent is not None and status in ("acknowledged", "accepted", "completed", "declined") and rng.random() < 0.8:
            stamps["acknowledged"] = step(sent, ack_h)
        decided_from = stamps["acknowledged"] or sent
        if status in ("accepted", "completed"):
            stamps["accepted"] = step(decided_from, decide_h)
        if status == "completed":
            stamps["completed"] = stamps["accepted"] + timedelta(days=rng.randrange(1, 90))
            stamps["completed"] = min(stamps["completed"], self.now - timedelta(seconds=30))
        if status == "declined":
            stamps["declined"] = step(decided_from, decide_h)
        if status == "withdrawn":
            stamps["withdrawn"] = step(sent or created, ack_h)
        self.writer.add(Referral, REFERRAL_FIELDS, (
            referral_id, case_id, sender, recipient, kind, status, phenomenon, urgency, rng.choice(SERVICES),
            self.cipher_text, _json(["general_behaviour"]), consent_id, "", "", rng.randrange(11, 18),
            rng.choice(GENDERS), rng.choice(REGIONS), "nl", ack_due, decide_due,
            "no_capacity" if status == "declined" else "", self.cipher_text if status == "declined" else "",
            "service_delivered" if status == "completed" else "", None, self.caseworker_of.get(sender), None,
            created, sent, stamps["acknowledged"], stamps["accepted"], stamps["declined"], stamps["withdrawn"],
            stamps["completed"], 1 + sum(1 for v in stamps.values() if v) + (1 if sent else 0),
            max([created, sent or created, *[v for v in stamps.values() if v]]),
        ))
        self._audit("referral.create", created, sender, "referral", referral_id, case_id)
        data = {"kind": kind, "urgency": urgency}
        parties = [sender, recipient]
        if sent:
            self._audit("referral.send", sent, sender, "referral", referral_id, case_id, {"legal_basis": None})
            self._event("referral.sent", sent, case_id, referral_id, parties, data | {"status": "sent"})
        for name, actor in (("acknowledged", recipient), ("accepted", recipient), ("declined", recipient),
                            ("withdrawn", sender), ("completed", recipient)):
            when = stamps[name]
            if when is None:
                continue
            verb = {"acknowledged": "acknowledge", "accepted": "accept", "declined": "decline",
                    "withdrawn": "withdraw", "completed": "complete"}[name]
            self._audit(f"referral.{verb}", when, actor, "referral", referral_id, case_id)
            self._event(f"referral.{name}", when, case_id, referral_id, parties if sent else [sender], data | {"status": name})
        return {"id": referral_id, "accepted_at": stamps["accepted"], "completed_at": stamps["completed"],
                "last": max([created, sent or created, *[v for v in stamps.values() if v]])}

    def finish(self) -> None:
        """Move the audit chain head and the event sequence past the seeded rows."""
        AuditChainHead.objects.update_or_create(pk=1, defaults={"last_seq": self.audit_seq, "last_hash": "bench" + "0" * 59})
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'seq'), GREATEST(%s, 1))",
                    [Event._meta.db_table, self.event_seq],
                )


AUDIT_FIELDS = ["seq", "at", "action", "actor_user", "actor_api_key", "organisation", "object_type", "object_id", "case",
                "request_id", "detail", "prev_hash", "hash"]
EVENT_FIELDS = ["seq", "id", "type", "occurred_at", "case", "referral", "organisations", "data"]
INVOLVEMENT_FIELDS = ["id", "case", "organisation", "role", "started_at", "ended_at", "referral"]
SUBJECT_FIELDS = ["case", "given_name", "family_name", "date_of_birth", "birth_year", "gender", "language",
                  "municipality", "safe_contact", "guardian_contact", "updated_at"]
CONSENT_FIELDS = ["id", "case", "given_by", "method", "purposes", "recipients", "valid_from", "valid_until", "withdrawn_at",
                  "recorded_by_organisation", "created_at"]
CASE_FIELDS = ["id", "status", "lead_organisation", "phenomena", "region", "opened_at", "opened_by_organisation",
               "closed_at", "outcome", "version", "updated_at", "legal_hold", "legal_hold_reason"]
REFERRAL_FIELDS = ["id", "case", "sender", "recipient", "kind", "status", "phenomenon", "urgency", "requested_service",
                   "reason", "signals", "consent", "legal_basis", "legal_basis_justification", "age", "gender", "region",
                   "language", "acknowledge_due", "decide_due", "decline_reason_code", "decline_reason", "outcome_code",
                   "rerouted_from", "created_by", "created_by_api_key", "created_at", "sent_at", "acknowledged_at",
                   "accepted_at", "declined_at", "withdrawn_at", "completed_at", "version", "updated_at"]


def existing_sizes() -> Sizes | None:
    """The sizes recorded by the last complete seed of this database, if any."""
    with connection.cursor() as cursor:
        if META_TABLE not in connection.introspection.table_names(cursor):
            return None
        cursor.execute(f"SELECT sizes FROM {META_TABLE}")
        row = cursor.fetchone()
    return Sizes(**json.loads(row[0])) if row else None


def seed(sizes: Sizes, *, progress=print) -> dict:
    """Fill an empty (migrated) database with the dataset; returns row counts."""
    if sizes.organisations < 3 or sizes.users < sizes.organisations + 1 or sizes.referrals < sizes.cases:
        raise ValueError("Need at least 3 organisations, more users than organisations and a referral per case.")
    seeder = Seeder(sizes)
    # One transaction per chunk of cases: a big seed never queues millions of deferred
    # foreign-key checks. The marker row is written last, so a seed cut short is seen
    # as absent (bench/run.py then starts from an empty database).
    seeder.organisations()
    seeder.users()
    seeder.writer.flush()
    progress(f"  {sizes.organisations} organisations, {sizes.users} users")
    seeder.cases_and_referrals(progress=progress)
    with transaction.atomic():
        seeder.finish()
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (sizes TEXT NOT NULL)")
            cursor.execute(f"DELETE FROM {META_TABLE}")
            cursor.execute(f"INSERT INTO {META_TABLE} (sizes) VALUES (%s)", [json.dumps(asdict(sizes))])
    return {"cases": sizes.cases, "referrals": sizes.referrals, **seeder.counts}
