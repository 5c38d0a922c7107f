"""Purge and erasure never leave text behind, even with writes racing them (issue #12 item 7).

Before the fix ``message_post`` did not lock the case: a message inserted while the
purge blanked the case's messages committed after it and kept its text for good.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from coalition.core.errors import Conflict
from referrals import services
from referrals.models import Case, LegalBasisException, Referral, ReferralMessage
from referrals.retention import purge_expired
from referrals.rights import subject_erase
from tests.support.case_history import JUSTIFICATION, case_with_history
from tests.support.personas import Persona

RETENTION = timedelta(days=730)
POSTERS = 8
POSTS_EACH = 6
ROUNDS = 3


def _texts_left(case_id) -> list[str]:
    return list(ReferralMessage.objects.filter(referral__case_id=case_id).exclude(body="").values_list("body", flat=True))


def _race_messages_against(erase, personas, history) -> list[int]:
    """POSTERS threads post messages on the case's accepted referral while ``erase`` runs in another thread.

    Each poster keeps posting until the erasure has finished and then posts once more, so
    posts land before, during and after it. Returns every post's status.
    """
    # The sender's caseworkers (the recipient's involvement ended when the lead closed the case).
    clients = [Persona(f"poster-{i}", user=personas["caseworker"].user).client for i in range(POSTERS)]
    barrier = threading.Barrier(POSTERS + 1)
    erased = threading.Event()
    statuses: list[int] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def post(index, client):
        try:
            barrier.wait()
            for n in range(POSTS_EACH):
                response = client.post(
                    f"/api/v1/referrals/{history.accepted_referral}/messages/",
                    {"body": f"Fictional note {index}-{n} about the meeting place."},
                    format="json",
                )
                with lock:
                    statuses.append(response.status_code)
                if erased.is_set() and n > 0:
                    break
        except BaseException as exc:  # noqa: BLE001  reported by the test
            failures.append(exc)
        finally:
            connections.close_all()

    def run_erase():
        try:
            barrier.wait()
            time.sleep(0.02)  # let the first posts be in flight
            erase()
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)
        finally:
            erased.set()
            connections.close_all()

    threads = [threading.Thread(target=post, args=(i, c)) for i, c in enumerate(clients)]
    threads.append(threading.Thread(target=run_erase))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    return statuses


@pytest.fixture
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs real parallel connections (PostgreSQL)")


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_postgres_only")
def test_messages_racing_the_purge_of_their_case_are_blanked_or_refused(flow, personas):  # noqa: F811
    for _round in range(ROUNDS):
        history = case_with_history(flow)
        now = Case.objects.get(pk=history.case_id).closed_at + RETENTION + timedelta(days=1)

        statuses = _race_messages_against(lambda now=now: purge_expired(now=now), personas, history)

        assert Case.objects.get(pk=history.case_id).purged_at is not None
        assert set(statuses) <= {201, 409}, statuses
        assert 409 in statuses  # the posts after the purge were refused
        assert _texts_left(history.case_id) == []


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_postgres_only")
def test_messages_racing_the_erasure_of_their_case_are_blanked_or_refused(flow, personas):  # noqa: F811
    auditor = personas["auditor"].user
    for _round in range(ROUNDS):
        history = case_with_history(flow)
        case = Case.objects.get(pk=history.case_id)

        statuses = _race_messages_against(lambda case=case: subject_erase(actor=auditor, case=case), personas, history)

        assert Case.objects.get(pk=history.case_id).purged_at is not None
        assert set(statuses) <= {201, 409}, statuses
        assert 409 in statuses
        assert _texts_left(history.case_id) == []


# --- the re-check under the lock, one writer at a time ------------------------------------


def _erased_behind_the_callers_back(case_id) -> None:
    """The case is erased after the caller read it: its in-memory copy still says not purged."""
    Case.objects.filter(pk=case_id).update(purged_at=timezone.now())


def test_message_post_rereads_the_case_under_its_lock_and_refuses_once_erased(flow, personas):  # noqa: F811
    history = case_with_history(flow)
    referral = Referral.objects.select_related("case").get(pk=history.accepted_referral)
    _erased_behind_the_callers_back(history.case_id)
    assert referral.case.purged_at is None  # the stale copy the old code trusted

    with pytest.raises(Conflict):
        services.message_post(actor=personas["caseworker"].user, referral=referral, body="Fictional late note.")
    assert not ReferralMessage.objects.filter(body="Fictional late note.").exists()


def test_a_decline_reason_is_refused_once_the_case_is_erased(flow, personas):  # noqa: F811
    _case, sent = flow.sent_referral()
    referral = Referral.objects.get(pk=sent["id"])
    _erased_behind_the_callers_back(referral.case_id)

    with pytest.raises(Conflict):
        services.referral_decline(
            actor=personas["recipient_caseworker"].user, referral=referral, reason_code="no_capacity", reason="Fictional."
        )
    assert Referral.objects.get(pk=sent["id"]).decline_reason == ""


def test_a_draft_cannot_get_free_text_once_the_case_is_erased(flow, personas):  # noqa: F811
    case = flow.open_case()
    draft = Referral.objects.get(pk=flow.draft(case["id"])["id"])
    _erased_behind_the_callers_back(case["id"])

    with pytest.raises(Conflict):
        services.referral_update(actor=personas["caseworker"].user, referral=draft, data={"reason": "Fictional reason."})
    assert Referral.objects.get(pk=draft.pk).reason != "Fictional reason."


def test_an_exception_review_note_is_refused_once_the_case_is_erased_but_a_bare_review_is_not(flow, personas):  # noqa: F811
    case = flow.open_case()
    draft = flow.draft(
        case["id"], recipient="care-nl", phenomenon="grooming",
        legal_basis={"basis": "vital_interest", "justification": JUSTIFICATION},
    )
    assert flow.act(draft["id"], "send", "caseworker").status_code == 200
    exception = LegalBasisException.objects.get(referral_id=draft["id"])
    _erased_behind_the_callers_back(case["id"])
    coordinator = personas["coordinator"].user

    with pytest.raises(Conflict):
        services.exception_review(actor=coordinator, legal_exception=exception, decision="approved", note="Fictional note.")
    reviewed = services.exception_review(actor=coordinator, legal_exception=exception, decision="approved")
    assert reviewed.review_note == "" and reviewed.review_status == "approved"
