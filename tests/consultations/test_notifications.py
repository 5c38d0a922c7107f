"""A consultation tells the asked members, and an answer tells the asker; never the question or a note (issue #18 item 3)."""

from __future__ import annotations

import pytest
from django.utils.translation import override

from coalition.notifications import texts
from coalition.notifications.models import Notification
from referrals.consultations import consultation_answer
from tests.support.consultations import QUESTION, ask, request_of

NOTE = "We keep a bed free for her until midnight."


def _told():
    return {(n.user.username, n.kind, n.status, n.organisation.slug)
            for n in Notification.objects.select_related("user", "organisation")}


def test_the_asked_members_are_told_and_the_asker_learns_each_answer(personas, orgs):
    consultation = ask(personas, orgs)
    assert _told() == {
        ("shelter-be-caseworker", "consultation", "", "hotline-be"),
        ("care-nl-caseworker", "consultation", "", "hotline-be"),
    }
    shelter = request_of(consultation, orgs["shelter-be"])
    assert Notification.objects.get(user__username="shelter-be-caseworker").due_at == shelter.answer_due
    consultation_answer(actor=personas["recipient_caseworker"].user, request=shelter, answer="yes", note=NOTE)
    assert ("hotline-be-caseworker", "consultation_answered", "yes", "shelter-be") in _told()
    for notification in Notification.objects.all():
        assert notification.consultation == consultation.pk
        assert texts.link_path(notification) == f"/app/consultations/{consultation.pk}/"


@pytest.mark.parametrize("language", ["en", "nl", "fr"])
def test_no_consultation_text_carries_the_question_a_note_or_the_triage(personas, orgs, language):
    consultation = ask(personas, orgs, urgency="immediate")
    for answer, slug, persona in (("yes", "shelter-be", "recipient_caseworker"), ("waitlist", "care-nl",
                                                                                  "outsider_caseworker")):
        consultation_answer(actor=personas[persona].user, request=request_of(consultation, orgs[slug]), answer=answer,
                            note=NOTE)
    with override(language):
        for notification in Notification.objects.select_related("organisation", "user__organisation"):
            words = texts.texts_of(notification, organisation=notification.organisation.name,
                                   own_organisation=notification.user.organisation.name)
            text = words["subject"] + " " + words["sentence"]
            assert words["subject"] and words["sentence"]
            for secret in (QUESTION, NOTE, "15", "teen", "female", "BE-VLG"):
                assert secret.lower() not in text.lower(), text
    # An immediate consultation is mailed at once, whatever the person chose.
    assert set(Notification.objects.filter(kind="consultation").values_list("mail_delivery", flat=True)) == {"immediate"}
