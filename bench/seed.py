"""Seed a national-scale coalition fast: COPY text built in Python, indexes built once at the end.

The rows are valid for the application: identity fields are real ciphertexts
(a handful of fictional values encrypted once with ``coalition.core.crypto.encrypt``
and reused), every open case has exactly one open lead involvement and each
organisation at most one open involvement per case, referral states carry
consistent timestamps (none in the future) and deadlines, each transition has
its event (with EventAudience rows for its parties) and its audit entry with the
detail the services write. The audit entries are chained with real hashes (the
application's canonical encoding, computed in ``seq`` order as the rows are
built and checked on samples against ``entry_digest``), so ``verify_chain()``
passes on a seeded database and new entries append to the chain.

How it is fast, on PostgreSQL (the default size, 15M rows, in about 2 minutes on
2 cores, where row-by-row index upkeep took about 30):

- One transaction reads from the catalog the definitions of the primary keys,
  unique constraints, indexes and foreign keys of the bulk tables (cases,
  subjects, consents, referrals, involvements, events, their audience, audit
  entries) and of the foreign keys that point at them, and drops them all.
- It empties those tables with ``TRUNCATE`` (they must already be empty), so that
  ``COPY … FREEZE`` may write the rows frozen and all-visible: no hint-bit
  writes or vacuum needed afterwards, and index-only scans work at once.
- A forked producer process builds the rows as COPY text lines directly (no
  per-value adaptation), one chunk of cases ahead, while this process copies the
  previous chunk in: Python on one core, PostgreSQL on the other.
- Then it recreates every index and constraint from the definitions it read
  (sorting once instead of keeping a dozen btrees on random UUIDs up to date row
  by row; foreign keys check every row as they are added), so the schema ends
  identical to what the migrations make.

Elsewhere (SQLite, for the tests) the same lines are converted back to values and
inserted with executemany, in this process.

Not like production: event ``seq`` and audit ``seq`` follow seeding order (case
by case), not time order; the identities repeat.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import random
import time
import traceback
import uuid
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from queue import Empty
from types import SimpleNamespace

from django.db import connection, transaction
from django.utils.dateparse import parse_datetime

from coalition.audit.models import AuditChainHead, AuditEntry
from coalition.audit.services import GENESIS_HASH, entry_digest, head_signature
from coalition.core.crypto import encrypt
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
CHUNK_CASES = 10_000
META_TABLE = "bench_dataset"
NULL = "\\N"  # COPY text format; the seeded values hold no tab, newline or backslash


def org_slug(index: int) -> str:
    return "bench-coordination" if index == 0 else f"bench-org-{index:04d}"


BUSY_ORG_SLUG = org_slug(1)
COORDINATOR_USERNAME = "bench-coordinator"
AUDITOR_USERNAME = "bench-auditor"


def busy_caseworker_usernames(sizes: Sizes) -> list[str]:
    """The busiest organisation's caseworkers (users are dealt to partners in turn)."""
    partners = sizes.organisations - 1
    return [f"bench-user-{n:05d}" for n in range(2, sizes.users) if (n - 2) % partners == 0 and n - 2 >= partners]


# --- columns (field names, in the order the lines are built) -------------------------

ORGANISATION_FIELDS = ["id", "slug", "name", "kind", "country", "regions", "languages", "phenomena", "min_age",
                       "max_age", "accepting_referrals", "membership_status", "data_sharing_agreement_signed_on",
                       "description", "website", "contact_email", "contact_phone", "caseworker_mfa_required",
                       "on_call_email", "created_at", "updated_at"]
USER_FIELDS = ["id", "password", "last_login", "is_superuser", "username", "first_name", "last_name", "email",
               "is_staff", "is_active", "date_joined", "organisation", "roles", "token_version", "language"]
CASE_FIELDS = ["id", "status", "lead_organisation", "phenomena", "region", "opened_at", "opened_by_organisation",
               "closed_at", "outcome", "version", "updated_at", "legal_hold", "legal_hold_reason"]
SUBJECT_FIELDS = ["case", "given_name", "family_name", "date_of_birth", "birth_year", "gender", "language",
                  "municipality", "safe_contact", "guardian_contact", "updated_at", "match_keyed_with"]
CONSENT_FIELDS = ["id", "case", "given_by", "method", "purposes", "recipients", "valid_from", "valid_until",
                  "withdrawn_at", "recorded_by_organisation", "created_at"]
REFERRAL_FIELDS = ["id", "case", "sender", "recipient", "kind", "status", "phenomenon", "urgency", "requested_service",
                   "reason", "signals", "consent", "legal_basis", "legal_basis_justification", "age", "gender",
                   "region", "language", "acknowledge_due", "decide_due", "decline_reason_code", "decline_reason",
                   "outcome_code", "rerouted_from", "created_by", "created_by_api_key", "created_at", "sent_at",
                   "acknowledged_at", "accepted_at", "declined_at", "withdrawn_at", "completed_at", "version",
                   "updated_at"]
INVOLVEMENT_FIELDS = ["id", "case", "organisation", "role", "started_at", "ended_at", "referral"]
EVENT_FIELDS = ["seq", "id", "type", "occurred_at", "case", "referral", "organisations", "data"]
AUDIENCE_FIELDS = ["id", "organisation", "event"]
AUDIT_FIELDS = ["seq", "at", "action", "actor_user", "actor_api_key", "organisation", "object_type", "object_id",
                "case", "request_id", "detail", "prev_hash", "hash"]

# Parents before children (SQLite checks foreign keys at commit, but keep it tidy).
TABLES = [(Organisation, ORGANISATION_FIELDS), (User, USER_FIELDS), (Case, CASE_FIELDS), (Subject, SUBJECT_FIELDS),
          (Consent, CONSENT_FIELDS), (Referral, REFERRAL_FIELDS), (Involvement, INVOLVEMENT_FIELDS),
          (Event, EVENT_FIELDS), (EventAudience, AUDIENCE_FIELDS), (AuditEntry, AUDIT_FIELDS)]
BULK_MODELS = [model for model, _ in TABLES[2:]]  # loaded without their indexes and constraints

# uuid.UUID(int=bits, version=4), as text, without building the object.
_UUID_KEEP = ~((0xC000 << 48) | (0xF000 << 64)) & ((1 << 128) - 1)
_UUID_V4 = (0x8000 << 48) | (4 << 76)


def _weighted(weights: dict[str, int]) -> list[str]:
    """A list to draw from uniformly that gives each value its weight."""
    return [value for value, weight in weights.items() for _ in range(weight)]


STATUS_DRAW = _weighted({"accepted": 35, "completed": 30, "declined": 22, "withdrawn": 13})
OPEN_STATUS_DRAW = ["sent", "sent", "acknowledged", "draft"]
URGENCY_DRAW = _weighted({"immediate": 10, "urgent": 30, "normal": 60})
# Audit ``detail`` as the services write it, in the canonical encoding (sorted keys, no
# spaces): the same text goes into the row and into the hash.
DETAIL_NONE = "{}"
DETAIL_SEND = '{"legal_basis":null}'
DETAIL_CLOSE = '{"outcome":"safe_and_supported","referrals_withdrawn":0}'
ACCEPT_DETAIL = {"service": '{"kind":"service"}', "transfer": '{"kind":"transfer"}'}
TRANSITIONS = [  # stamp, audit verb, who acts, audit detail (None: ACCEPT_DETAIL)
    ("acknowledged", "acknowledge", "recipient", DETAIL_NONE), ("accepted", "accept", "recipient", None),
    ("declined", "decline", "recipient", '{"reason_code":"no_capacity"}'),
    ("withdrawn", "withdraw", "sender", DETAIL_NONE),
    ("completed", "complete", "recipient", '{"outcome_code":"service_delivered"}'),
]


def _ts(value: datetime | None) -> str:
    """A timestamp as COPY text: whole seconds in UTC, ``2026-01-31T12:00:00+00:00``."""
    return NULL if value is None else value.isoformat()


# --- building the lines ---------------------------------------------------------------


class Seeder:
    """Builds the dataset as COPY text lines, one list per table, chunk by chunk.

    Deterministic for a given ``seed`` and ``now``: the same sizes give the same rows
    (ciphertexts aside).
    """

    def __init__(self, sizes: Sizes, *, now: datetime | None = None, seed: int = 2026):
        self.sizes = sizes
        # Whole seconds in UTC: every timestamp below is ``now`` minus whole seconds, so
        # its text has one shape (see ``_audit``).
        self.now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
        self.rng = random.Random(seed)
        self.rand = self.rng.random
        self.lines: dict = {model: [] for model, _ in TABLES}
        self.event_seq = self.audience_id = self.audit_seq = self.involvements = 0
        self.last_hash = GENESIS_HASH
        self.samples: list[tuple[str, str]] = []  # (line, expected hash) to check against entry_digest
        # Latest times, so that nothing happens in the future and each step follows the last.
        self.latest_referral_step = self.now - timedelta(minutes=5)
        self.latest_send = self.now - timedelta(minutes=4)
        self.latest_transition = self.now - timedelta(minutes=1)
        self.latest_completion = self.now - timedelta(seconds=30)
        # A few fictional identities, encrypted once and reused (encryption is the slow part).
        names = ["Noor", "Lina", "Sam", "Jade", "Milan", "Yasmine", "Lucas", "Emma"]
        self.cipher_names = [encrypt(n) for n in names]
        self.cipher_birth = [encrypt(f"{2006 + i}-0{1 + i}-1{i}") for i in range(8)]
        self.cipher_year = [encrypt(str(2006 + i)) for i in range(8)]
        self.cipher_gender = [encrypt(g) for g in GENDERS]
        self.cipher_text = encrypt("Fictional benchmark text: no real person.")
        self.cipher_safe = encrypt("Only call the school social worker.")
        self.event_data = {
            (kind, urgency, status): json.dumps({"kind": kind, "urgency": urgency, "status": status})
            for kind in ("service", "transfer") for urgency in URGENCY_HOURS
            for status in ["sent", *(stamp for stamp, *_ in TRANSITIONS)]
        }

    def _uuid(self) -> str:
        h = "%032x" % (self.rng.getrandbits(128) & _UUID_KEEP | _UUID_V4)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def take_lines(self) -> dict:
        """The lines built since the last call, per model, joined."""
        out = {model: "".join(lines) for model, lines in self.lines.items() if lines}
        self.lines = {model: [] for model, _ in TABLES}
        return out

    # organisations and users ---------------------------------------------------

    def organisations(self) -> None:
        self.org_ids = []
        start = _ts(self.now - timedelta(days=5 * 365))
        signed = (self.now - timedelta(days=5 * 365)).date().isoformat()
        add = self.lines[Organisation].append
        for i in range(self.sizes.organisations):
            org_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-org-{i}"))
            self.org_ids.append(org_id)
            kind = "coordinator" if i == 0 else PARTNER_KINDS[i % len(PARTNER_KINDS)]
            country = "NL" if i % 4 == 3 else "BE"
            fields = [
                org_id, org_slug(i), f"Benchmark organisation {i}", kind, country,
                json.dumps(REGIONS[i % 5:(i % 5) + 3]), json.dumps(["nl", "fr"] if country == "BE" else ["nl"]),
                json.dumps(PHENOMENA[i % 7:(i % 7) + 4]), "0", "18", "t", "active", signed, "", "", "", "", "f",
                "", start, start,
            ]
            add("\t".join(fields) + "\n")
        self.partners = self.org_ids[1:]
        self.busy = self.org_ids[1]

    def users(self) -> None:
        self.caseworker_of: dict[str, str] = {}
        partners = len(self.partners)
        joined = _ts(self.now - timedelta(days=900))
        add = self.lines[User].append
        for n in range(self.sizes.users):
            user_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-user-{n}"))
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
            fields = [user_id, "!bench-no-password", NULL, "f", username, "", "", f"{username}@bench.invalid",
                      "f", "t", joined, org, json.dumps(roles), "0", ""]
            add("\t".join(fields) + "\n")

    # cases, referrals, involvements, events, audit --------------------------------

    def _org(self, exclude=()) -> str:
        rand, partners = self.rand, self.partners
        while True:
            org = self.busy if rand() < BUSY_SHARE else partners[int(rand() * len(partners))]
            if org not in exclude:
                return org

    def _audit(self, action: str, at: str, org: str, object_type: str, object_id: str, case_id: str,
               detail: str = DETAIL_NONE) -> None:
        """An entry chained to the previous one: ``coalition.audit.services.entry_digest`` by hand.

        The fields are ids, codes and a timestamp (nothing JSON would escape), so the
        canonical encoding is written directly; ``_check_digests`` compares samples
        with the application's own function. ``at`` is ``_ts`` text, which the
        encoding wants with microseconds.
        """
        self.audit_seq += 1
        seq = self.audit_seq
        actor = self.caseworker_of.get(org)
        canonical = (f'[{seq},"{at[:19]}.000000+00:00","{action}","{actor or ""}","","{org}","{object_type}",'
                     f'"{object_id}","{case_id}","",{detail}]')
        prev = self.last_hash
        digest = self.last_hash = hashlib.sha256(f"{prev}|{canonical}".encode()).hexdigest()
        line = (f"{seq}\t{at}\t{action}\t{actor or NULL}\t{NULL}\t{org}\t{object_type}\t{object_id}\t{case_id}"
                f"\t\t{detail}\t{prev}\t{digest}\n")
        self.lines[AuditEntry].append(line)
        if seq % 100_000 == 1:
            self.samples.append((line, digest))

    def _event(self, type_: str, at: str, case_id: str, referral_id: str | None, parties: list[str],
               data: str) -> None:
        self.event_seq += 1
        seq = self.event_seq
        parties = sorted(set(parties))
        organisations = '["' + '", "'.join(parties) + '"]'  # json.dumps(parties), ids need no escaping
        self.lines[Event].append(f"{seq}\t{self._uuid()}\t{type_}\t{at}\t{case_id}\t{referral_id or NULL}"
                                 f"\t{organisations}\t{data}\n")
        audience = self.lines[EventAudience]
        for party in parties:
            self.audience_id += 1
            audience.append(f"{self.audience_id}\t{party}\t{seq}\n")

    def _involvement(self, case_id: str, org: str, role: str, started: datetime, ended: datetime | None,
                     referral_id: str | None) -> None:
        self.involvements += 1
        self.lines[Involvement].append(f"{self._uuid()}\t{case_id}\t{org}\t{role}\t{started.isoformat()}\t{_ts(ended)}"
                                       f"\t{referral_id or NULL}\n")

    def cases(self, start: int, stop: int) -> None:
        """Cases ``start`` to ``stop`` (of ``sizes.cases``), with everything that hangs off them."""
        sizes, rng = self.sizes, self.rng
        base, extra = divmod(sizes.referrals, sizes.cases)
        span = 3 * 365 * 24 * 3600
        for index in range(start, stop):
            count = base + (1 if index < extra else 0)
            self._case(count, self.now - timedelta(seconds=rng.randrange(span)))

    def chunks(self):
        """All the cases, ``CHUNK_CASES`` at a time: yields each chunk's lines (``take_lines``)."""
        for start in range(0, self.sizes.cases, CHUNK_CASES):
            self.cases(start, min(start + CHUNK_CASES, self.sizes.cases))
            yield self.take_lines()

    def state(self) -> dict:
        """What the parent needs back from a producer process: counters, chain head, samples."""
        return {"event_seq": self.event_seq, "audience_id": self.audience_id, "audit_seq": self.audit_seq,
                "involvements": self.involvements, "last_hash": self.last_hash, "samples": self.samples}

    def counts(self) -> dict:
        return {"events": self.event_seq, "audience": self.audience_id, "audit": self.audit_seq,
                "involvements": self.involvements}

    def _case(self, referral_count: int, opened: datetime) -> None:
        rand = self.rand
        case_id = self._uuid()
        lead = opener = self._org()
        phenomenon = PHENOMENA[int(rand() * len(PHENOMENA))]
        # Old cases are mostly closed; a closed case has no pending referral.
        age_days = (self.now - opened).days
        closed = age_days > 120 and rand() < min(0.85, age_days / 700)
        i = int(rand() * 8)
        opened_text = opened.isoformat()
        self.lines[Subject].append(
            f"{case_id}\t{self.cipher_names[i]}\t\t{self.cipher_birth[i]}\t{self.cipher_year[i]}"
            f"\t{self.cipher_gender[i % 4]}\t\t\t{self.cipher_safe}\t\t{opened_text}\t\n")  # never keyed: matching off
        consent_id = self._uuid()
        self.lines[Consent].append(
            f'{consent_id}\t{case_id}\tyoung_person\tverbal\t["care_referral", "information_sharing", "police_report"]'
            f"\t[]\t{opened.date().isoformat()}\t{NULL}\t{NULL}\t{lead}\t{opened_text}\n")
        self._audit("case.open", opened_text, lead, "case", case_id, case_id)
        self._audit("consent.record", opened_text, lead, "consent", consent_id, case_id)
        open_supporting: dict = {}  # org -> (involvement start, referral id)
        lead_since, lead_referral = opened, None
        t = opened
        for n in range(referral_count):
            last = n == referral_count - 1
            t = min(t + timedelta(hours=2 + int(rand() * (24 * 30 - 2))), self.latest_referral_step)
            # Every partner already involved (tiny datasets only): one of them is asked
            # again and declines, so that no organisation holds two open involvements.
            everyone = len(open_supporting) + 1 >= len(self.partners)
            recipient = self._org(exclude={lead} if everyone else {lead, *open_supporting})
            kind = "transfer" if rand() < 0.2 else "service"
            if last and not closed and rand() < 0.35:
                status = OPEN_STATUS_DRAW[int(rand() * 4)]
            else:
                status = STATUS_DRAW[int(rand() * len(STATUS_DRAW))]
                if kind == "transfer" and status == "completed":
                    status = "accepted"
            if everyone:
                status = "declined"
            urgency = URGENCY_DRAW[int(rand() * len(URGENCY_DRAW))]
            referral_id, accepted_at, completed_at, latest = self._referral(
                case_id, consent_id, lead, recipient, kind, status, urgency, phenomenon, t)
            if status == "accepted" and kind == "transfer":
                self._involvement(case_id, lead, "lead", lead_since, accepted_at, lead_referral)
                self._event("case.lead_transferred", _ts(accepted_at), case_id, referral_id,
                            [lead, recipient, *open_supporting],
                            json.dumps({"from": lead, "to": recipient}))
                lead, lead_since, lead_referral = recipient, accepted_at, referral_id
            elif status == "accepted":
                open_supporting[recipient] = (accepted_at, referral_id)
            elif status == "completed":
                self._involvement(case_id, recipient, "supporting", accepted_at, completed_at, referral_id)
            t = max(t, latest)
        closed_at = None
        if closed:
            closed_at = min(t + timedelta(days=1 + int(rand() * 59)), self.latest_transition)
        for org, (started, referral_id) in open_supporting.items():
            self._involvement(case_id, org, "supporting", started, closed_at, referral_id)
        self._involvement(case_id, lead, "lead", lead_since, None, lead_referral)
        closed_text = _ts(closed_at)
        self.lines[Case].append(
            f'{case_id}\t{"closed" if closed else "open"}\t{lead}\t["{phenomenon}"]\t{REGIONS[int(rand() * 10)]}'
            f"\t{opened_text}\t{opener}\t{closed_text}\t{'safe_and_supported' if closed else ''}\t1"
            f"\t{(closed_at or t).isoformat()}\tf\t\n")
        if closed:
            self._audit("case.close", closed_text, lead, "case", case_id, case_id, DETAIL_CLOSE)
            self._event("case.closed", closed_text, case_id, None, [lead, *open_supporting],
                        '{"outcome": "safe_and_supported"}')

    def _referral(self, case_id, consent_id, sender, recipient, kind, status, urgency, phenomenon, created):
        """One referral in ``status``, its audit entries and events; returns (id, accepted, completed, latest)."""
        rand = self.rand
        referral_id = self._uuid()
        ack_h, decide_h = URGENCY_HOURS[urgency]
        sent = ack_due = decide_due = None
        if status != "draft" and not (status == "withdrawn" and rand() < 0.2):
            sent = min(created + timedelta(minutes=1 + int(rand() * 89)), self.latest_send)
            ack_due, decide_due = sent + timedelta(hours=ack_h), sent + timedelta(hours=decide_h)
        latest_transition = self.latest_transition

        def step(base, hours):
            return min(base + timedelta(minutes=5 + int(rand() * (int(hours * 90) + 5))), latest_transition)

        acknowledged = accepted = declined = withdrawn = completed = None
        if sent is not None and status in ("acknowledged", "accepted", "completed", "declined") and rand() < 0.8:
            acknowledged = step(sent, ack_h)
        decided_from = acknowledged or sent
        if status in ("accepted", "completed"):
            accepted = step(decided_from, decide_h)
        if status == "completed":
            completed = min(accepted + timedelta(days=1 + int(rand() * 89)), self.latest_completion)
        if status == "declined":
            declined = step(decided_from, decide_h)
        if status == "withdrawn":
            withdrawn = step(sent or created, ack_h)
        stamps = {"acknowledged": acknowledged, "accepted": accepted, "declined": declined, "withdrawn": withdrawn,
                  "completed": completed}
        reached = [value for value in stamps.values() if value]
        latest = max([created, sent or created, *reached])
        texts = {stamp: _ts(value) for stamp, value in stamps.items()}
        created_text, sent_text = created.isoformat(), _ts(sent)
        creator = self.caseworker_of.get(sender)
        declined_text = self.cipher_text if status == "declined" else ""
        self.lines[Referral].append(
            f"{referral_id}\t{case_id}\t{sender}\t{recipient}\t{kind}\t{status}\t{phenomenon}\t{urgency}"
            f'\t{SERVICES[int(rand() * 6)]}\t{self.cipher_text}\t["general_behaviour"]\t{consent_id}\t\t'
            f"\t{11 + int(rand() * 7)}\t{GENDERS[int(rand() * 4)]}\t{REGIONS[int(rand() * 10)]}\tnl"
            f"\t{_ts(ack_due)}\t{_ts(decide_due)}\t{'no_capacity' if declined_text else ''}\t{declined_text}"
            f"\t{'service_delivered' if status == 'completed' else ''}\t{NULL}\t{creator or NULL}\t{NULL}"
            f"\t{created_text}\t{sent_text}\t{texts['acknowledged']}\t{texts['accepted']}\t{texts['declined']}"
            f"\t{texts['withdrawn']}\t{texts['completed']}\t{1 + len(reached) + (1 if sent else 0)}"
            f"\t{latest.isoformat()}\n")
        self._audit("referral.create", created_text, sender, "referral", referral_id, case_id)
        parties = [sender, recipient]
        if sent:
            self._audit("referral.send", sent_text, sender, "referral", referral_id, case_id, DETAIL_SEND)
            self._event("referral.sent", sent_text, case_id, referral_id, parties,
                        self.event_data[kind, urgency, "sent"])
        for stamp, verb, actor, detail in TRANSITIONS:
            when = texts[stamp]
            if when == NULL:
                continue
            self._audit(f"referral.{verb}", when, recipient if actor == "recipient" else sender, "referral",
                        referral_id, case_id, detail or ACCEPT_DETAIL[kind])
            self._event(f"referral.{stamp}", when, case_id, referral_id, parties if sent else [sender],
                        self.event_data[kind, urgency, stamp])
        return referral_id, accepted, completed, latest


def _check_digests(samples: list[tuple[str, str]]) -> None:
    """Recompute sampled entries' hashes with the application's function: the encodings must agree."""
    for line, digest in samples:
        values = [None if value == NULL else value for value in line.rstrip("\n").split("\t")]
        entry = SimpleNamespace(**dict(zip(AUDIT_FIELDS, values, strict=True)))
        entry.seq, entry.at, entry.detail = int(entry.seq), parse_datetime(entry.at), json.loads(entry.detail)
        if entry_digest(entry) != digest:
            raise RuntimeError(f"Seeded audit entry {entry.seq}: its hash differs from entry_digest().")


# --- writing ---------------------------------------------------------------------------


def _columns(model, names: list[str]) -> str:
    return ", ".join(f'"{model._meta.get_field(name).column}"' for name in names)


FIELDS = dict(TABLES)


class Writer:
    """COPY on PostgreSQL (FREEZE into the bulk tables, which it emptied); executemany elsewhere."""

    def __init__(self, cursor):
        self.cursor = cursor
        self.postgres = connection.vendor == "postgresql"
        self.copy_seconds = 0.0

    def write(self, chunk: dict) -> None:
        started = time.monotonic()
        for model, _ in TABLES:
            text = chunk.get(model)
            if not text:
                continue
            table, columns = model._meta.db_table, _columns(model, FIELDS[model])
            if self.postgres:
                freeze = " (FREEZE)" if model in BULK_MODELS else ""
                with self.cursor.cursor.copy(f'COPY "{table}" ({columns}) FROM STDIN{freeze}') as copy:
                    copy.write(text)
            else:
                convert = _sqlite_converters(model, FIELDS[model])
                rows = [tuple(None if value == NULL else conv(value) for conv, value in zip(convert, line.split("\t"), strict=True))
                        for line in text.splitlines()]
                marks = ", ".join(["%s"] * len(convert))
                self.cursor.executemany(f'INSERT INTO "{table}" ({columns}) VALUES ({marks})', rows)
        self.copy_seconds += time.monotonic() - started


def _sqlite_converters(model, names: list[str]) -> list:
    """Per column, how COPY text becomes the value Django would store on this backend (tests only)."""
    out = []
    for name in names:
        field = model._meta.get_field(name)
        kind = (field.target_field if field.is_relation else field).get_internal_type()
        if kind == "UUIDField":
            out.append(lambda value: value.replace("-", ""))
        elif kind == "DateTimeField":
            out.append(lambda value: connection.ops.adapt_datetimefield_value(parse_datetime(value)))
        elif kind == "BooleanField":
            out.append(lambda value: value == "t")
        elif kind.endswith(("IntegerField", "AutoField")):
            out.append(int)
        else:
            out.append(str)
    return out


# --- indexes and constraints of the bulk tables (PostgreSQL) --------------------------


def _drop_indexes_and_constraints(cursor) -> tuple[list[str], list[str]]:
    """Drop what slows a bulk load; return the statements that recreate it exactly.

    Those are two lists: primary keys, unique constraints and indexes first, then the
    foreign keys (which need the others, and check every row as they are added).
    """
    tables = [model._meta.db_table for model in BULK_MODELS]
    cursor.execute(
        "SELECT conrelid::regclass::text, quote_ident(conname), contype, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype IN ('p', 'u', 'f') AND (conrelid = ANY(%s::regclass[]) OR confrelid = ANY(%s::regclass[])) "
        "ORDER BY contype = 'f' DESC, conrelid::regclass::text, conname", [tables, tables])
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index i "
        "WHERE indrelid = ANY(%s::regclass[]) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
        "WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x')) "
        "ORDER BY 1", [tables])
    indexes = cursor.fetchall()
    for table, name, _, _ in constraints:  # foreign keys first: they depend on the unique indexes
        cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    for name, _ in indexes:
        cursor.execute(f"DROP INDEX {name}")
    keys = [f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"
            for table, name, kind, definition in constraints if kind != "f"]
    foreign = [f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"
               for table, name, kind, definition in constraints if kind == "f"]
    return keys + [definition for _, definition in indexes], foreign


def _truncate_bulk_tables(cursor) -> None:
    """TRUNCATE the (empty) bulk tables: COPY may then FREEZE the rows it writes.

    The audit entries' TRUNCATE trigger lets this transaction through (the seeder empties
    them on purpose; see audit migration 0004).
    """
    cursor.execute("SET LOCAL coalition.allow_audit_truncate = 'on'")
    cursor.execute("TRUNCATE " + ", ".join(f'"{model._meta.db_table}"' for model in BULK_MODELS))


# --- the producer ----------------------------------------------------------------------


def _produce(seeder: Seeder, queue) -> None:
    """In a forked process: build the chunks and hand them over; the last message is the totals.

    It only builds text; it never touches the database connection it inherited.
    """
    try:
        for chunk in seeder.chunks():
            queue.put(("chunk", chunk))
        queue.put(("done", seeder.state()))
    except Exception:  # noqa: BLE001 - any failure goes to the parent, which raises it
        queue.put(("error", traceback.format_exc()))


def _chunks(seeder: Seeder, *, parallel: bool):
    """Yield the chunks of case lines, built in a forked producer process when ``parallel``.

    The producer runs one chunk ahead (the queue holds two), so building text on one
    core overlaps with PostgreSQL parsing the previous chunk on the other.
    """
    if not parallel:
        yield from seeder.chunks()
        return
    context = multiprocessing.get_context("fork")
    queue = context.Queue(maxsize=2)
    producer = context.Process(target=_produce, args=(seeder, queue), daemon=True)
    producer.start()
    try:
        while True:
            try:
                kind, payload = queue.get(timeout=5)
            except Empty:
                if not producer.is_alive():
                    raise RuntimeError(f"The seeding process died (exit code {producer.exitcode}).") from None
                continue
            if kind == "chunk":
                yield payload
            elif kind == "done":
                vars(seeder).update(payload)
                return
            else:
                raise RuntimeError(f"The seeding process failed:\n{payload}")
    finally:
        producer.join(timeout=10)
        if producer.is_alive():
            producer.kill()


# --- the dataset ---------------------------------------------------------------------


def existing_sizes() -> Sizes | None:
    """The sizes recorded by the last complete seed of this database, if any."""
    with connection.cursor() as cursor:
        if META_TABLE not in connection.introspection.table_names(cursor):
            return None
        cursor.execute(f"SELECT sizes FROM {META_TABLE}")
        row = cursor.fetchone()
    return Sizes(**json.loads(row[0])) if row else None


def _print(message: str) -> None:
    print(message, flush=True)


def _check_can_seed(sizes: Sizes) -> None:
    """The sizes make a coherent dataset and the database is empty (the seeder never mixes)."""
    if sizes.organisations < 3 or sizes.users < sizes.organisations + 1 or sizes.referrals < sizes.cases:
        raise ValueError("Need at least 3 organisations, more users than organisations and a referral per case.")
    for model in [Organisation, *BULK_MODELS]:
        if model.objects.exists():
            raise ValueError(f"The seeder fills an empty database, and {model._meta.db_table} holds rows.")


def seed(sizes: Sizes, *, progress=_print, parallel: bool | None = None) -> dict:
    """Fill an empty (migrated) database with the dataset; returns row counts.

    ``parallel`` (default: on PostgreSQL, with a second core and more than one chunk)
    builds the rows in a forked process while this one copies them in.
    """
    _check_can_seed(sizes)
    postgres = connection.vendor == "postgresql"
    if parallel is None:
        parallel = postgres and multiprocessing.cpu_count() > 1 and sizes.cases > CHUNK_CASES
    seeder = Seeder(sizes)
    started = time.monotonic()
    # One transaction: a seed cut short leaves the migrated, empty schema (and no
    # marker row, so bench/run.py starts from an empty database).
    with transaction.atomic(), connection.cursor() as cursor:
        indexes, foreign_keys = [], []
        if postgres:
            cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")  # index builds sort in memory
            cursor.execute("SET LOCAL synchronous_commit = off")
            indexes, foreign_keys = _drop_indexes_and_constraints(cursor)
            _truncate_bulk_tables(cursor)
        writer = Writer(cursor)
        seeder.organisations()
        seeder.users()
        writer.write(seeder.take_lines())
        progress(f"  {sizes.organisations} organisations, {sizes.users} users")
        done = 0
        for chunk in _chunks(seeder, parallel=parallel):
            writer.write(chunk)
            done = min(done + CHUNK_CASES, sizes.cases)
            if done % (CHUNK_CASES * 5) == 0 or done == sizes.cases:
                progress(f"  {done} cases ({time.monotonic() - started:.0f} s)")
        phase = time.monotonic()
        progress(f"  rows built and copied in {phase - started:.0f} s ({writer.copy_seconds:.0f} s of it in COPY"
                 f"{'; rows built in a second process' if parallel else ''})")
        _check_digests(seeder.samples)
        for done_what, statements in (("primary keys, unique constraints and indexes", indexes),
                                      ("foreign keys", foreign_keys)):
            for statement in statements:
                cursor.execute(statement)
            if statements:
                progress(f"  {len(statements)} {done_what} rebuilt in {time.monotonic() - phase:.0f} s")
                phase = time.monotonic()
        AuditChainHead.objects.update_or_create(pk=1, defaults={
            "last_seq": seeder.audit_seq, "last_hash": seeder.last_hash,
            "signature": head_signature(seeder.audit_seq, seeder.last_hash),
        })
        if postgres:
            for model, column, value in ((Event, "seq", seeder.event_seq), (EventAudience, "id", seeder.audience_id)):
                cursor.execute("SELECT setval(pg_get_serial_sequence(%s, %s), GREATEST(%s, 1))",
                               [model._meta.db_table, column, value])
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (sizes TEXT NOT NULL)")
        cursor.execute(f"DELETE FROM {META_TABLE}")
        cursor.execute(f"INSERT INTO {META_TABLE} (sizes) VALUES (%s)", [json.dumps(asdict(sizes))])
    progress(f"  committed in {time.monotonic() - phase:.0f} s")
    return {"cases": sizes.cases, "referrals": sizes.referrals, **seeder.counts()}
