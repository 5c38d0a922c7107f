"""The benchmark's seeder builds rows the application accepts (tiny size, test database)."""

import pytest
from django.db.models import Count

from bench.seed import seed
from bench.sizes import Sizes
from coalition.audit.models import AuditChainHead, AuditEntry
from coalition.audit.selectors import verify_chain
from coalition.audit.services import record
from coalition.events.models import Event, EventAudience
from coalition.events.services import emit
from referrals.models import Case, Involvement, Referral, Subject

pytestmark = pytest.mark.django_db

TINY = Sizes(organisations=4, users=12, cases=8, referrals=24)


@pytest.fixture
def seeded():
    return seed(TINY, progress=lambda *_: None)


def test_the_seeder_writes_the_asked_sizes(seeded):
    assert Case.objects.count() == 8
    assert Subject.objects.count() == 8
    assert Referral.objects.count() == 24
    assert AuditEntry.objects.count() == seeded["audit"]
    assert EventAudience.objects.count() == seeded["audience"]


def test_every_case_has_exactly_one_open_lead_which_is_its_lead_organisation(seeded):
    for case in Case.objects.all():
        leads = Involvement.objects.filter(case=case, role="lead", ended_at__isnull=True)
        assert [i.organisation_id for i in leads] == [case.lead_organisation_id]


def test_no_organisation_is_involved_twice_at_once_in_a_case(seeded):
    doubles = (Involvement.objects.filter(ended_at__isnull=True).values("case", "organisation")
               .annotate(n=Count("id")).filter(n__gt=1))
    assert not doubles.exists()


def test_referral_timestamps_follow_their_state(seeded):
    for referral in Referral.objects.all():
        if referral.status == "draft":
            assert referral.sent_at is None
        if referral.status in ("sent", "acknowledged", "accepted", "declined", "completed"):
            assert referral.sent_at is not None and referral.acknowledge_due and referral.decide_due
        if referral.status in ("accepted", "completed"):
            assert referral.accepted_at >= referral.sent_at
        if referral.status == "completed":
            assert referral.completed_at >= referral.accepted_at
        if referral.status == "acknowledged":
            assert referral.acknowledged_at is not None and referral.accepted_at is None
        assert referral.sender_id != referral.recipient_id


def test_closed_cases_have_no_pending_referrals(seeded):
    assert not Referral.objects.filter(
        case__status="closed", status__in=["draft", "sent", "acknowledged"]
    ).exists()


def test_identity_and_free_text_are_stored_encrypted_and_read_back(seeded):
    from django.db import connection

    subject = Subject.objects.first()
    assert subject.given_name in {"Noor", "Lina", "Sam", "Jade", "Milan", "Yasmine", "Lucas", "Emma"}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT given_name FROM {Subject._meta.db_table}")
        assert all(row[0].startswith("enc1:") for row in cursor.fetchall())


def test_every_sent_referral_has_its_event_for_both_parties(seeded):
    for referral in Referral.objects.filter(sent_at__isnull=False):
        event = Event.objects.get(referral=referral.pk, type="referral.sent")
        assert set(EventAudience.objects.filter(event=event).values_list("organisation_id", flat=True)) == {
            referral.sender_id, referral.recipient_id}


def test_the_audit_chain_head_is_moved_past_the_seeded_entries(seeded):
    assert AuditChainHead.objects.get(pk=1).last_seq == AuditEntry.objects.order_by("-seq").first().seq


def test_the_seeded_audit_chain_verifies(seeded):
    verdict = verify_chain()
    assert verdict.intact, verdict
    assert verdict.entries == seeded["audit"]


def test_new_audit_entries_and_events_follow_the_seeded_ones(seeded):
    case = Case.objects.first()
    entry = record(action="case.update", object_type="case", object_id=case.pk, case_id=case.pk)
    event = emit(type="case.closed", organisations=[case.lead_organisation_id], case_id=case.pk)
    assert entry.seq == seeded["audit"] + 1
    assert event.seq == seeded["events"] + 1
    assert verify_chain().intact


def test_seeding_refuses_a_database_that_already_holds_a_dataset(seeded):
    with pytest.raises(ValueError, match="empty database"):
        seed(TINY, progress=lambda *_: None)
    assert Case.objects.count() == 8
    assert verify_chain().intact


def _schema_of_the_bulk_tables() -> set:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
        indexes = set(cursor.fetchall())
        cursor.execute("SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated, "
                       "condeferrable, condeferred FROM pg_constraint WHERE connamespace = 'public'::regnamespace")
        return indexes | set(cursor.fetchall())


@pytest.mark.postgres_only
def test_the_bulk_load_leaves_every_index_and_constraint_as_the_migrations_made_them():
    before = _schema_of_the_bulk_tables()
    seed(TINY, progress=lambda *_: None)
    assert _schema_of_the_bulk_tables() == before


def test_rows_built_in_a_second_process_are_the_rows_built_in_this_one(monkeypatch):
    from bench import seed as seeding

    monkeypatch.setattr(seeding, "CHUNK_CASES", 3)  # several chunks through the queue
    expected = seeding.Seeder(TINY)
    expected.organisations()
    expected.users()
    expected.cases(0, TINY.cases)
    counts = seed(TINY, progress=lambda *_: None, parallel=True)
    assert counts == {"cases": 8, "referrals": 24, **expected.counts()}
    assert verify_chain().intact  # chained in the producer, head written by this process
