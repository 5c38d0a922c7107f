"""A match tells people, never anything about the young person (issue #17 item 2; README, "Notifications").

Each side's caseworkers learn the other member's name and are asked to get in touch;
the coordinators learn of the match once (not once per side); an unanswered match is
escalated to the coordinators once and both sides are reminded; the texts in every
language carry the organisations' names and a deadline, nothing of the child.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils.translation import override

from coalition.notifications import texts
from coalition.notifications.models import Notification
from referrals.matches import escalate_unattended, match_act
from referrals.models import Match
from tests.support.flows import CHILD
from tests.support.matching import SAME_CHILD_ELSEWHERE


def _told(kind=None):
    notifications = Notification.objects.select_related("user", "organisation")
    if kind:
        notifications = notifications.filter(kind=kind)
    return {(n.user.username, n.kind, n.status, n.organisation.slug) for n in notifications}


def test_each_side_learns_the_other_members_name_and_the_coordinators_once(known_twice, personas, orgs):
    match = Match.objects.get()
    assert _told("match") == {
        ("hotline-be-caseworker", "match", "", "care-nl"),
        ("care-nl-caseworker", "match", "", "hotline-be"),
        ("coordinator", "match", "coordination", match.organisation_a.slug),
    }
    for notification in Notification.objects.filter(kind="match"):
        assert notification.match == match.pk
        assert texts.link_path(notification) == f"/app/matches/{match.pk}/"


def test_an_unanswered_match_is_escalated_once_and_both_sides_are_reminded(known_twice, personas):
    match = Match.objects.get()
    later = match.due_at + timedelta(minutes=1)
    assert escalate_unattended(later) == 1
    assert escalate_unattended(later + timedelta(hours=1)) == 0
    assert _told("escalation") == {("coordinator", "escalation", "match", match.organisation_a.slug)}
    reminders = {(user, status) for user, _kind, status, _org in _told("match") if status == "reminder"}
    assert reminders == {("hotline-be-caseworker", "reminder"), ("care-nl-caseworker", "reminder")}


def test_an_answered_match_is_not_escalated(known_twice, personas):
    match = Match.objects.get()
    match_act(actor=personas["outsider_caseworker"].user, match=match, action="contacted")
    assert escalate_unattended(match.due_at + timedelta(days=1)) == 0
    assert not Notification.objects.filter(kind="escalation").exists()


@pytest.mark.parametrize("language", ["en", "nl", "fr"])
def test_no_match_text_carries_anything_of_the_child(known_twice, personas, language):
    escalate_unattended(Match.objects.get().due_at + timedelta(minutes=1))
    forbidden = {value for value in (CHILD | SAME_CHILD_ELSEWHERE).values() if len(value) > 3}
    forbidden |= {"2010", "Zorita", "Fictionalis", "teen_pimp"}
    with override(language):
        for notification in Notification.objects.select_related("organisation", "user__organisation"):
            words = texts.texts_of(notification, organisation=notification.organisation.name,
                                   own_organisation=notification.user.organisation.name, time_zone="Europe/Brussels")
            assert words["subject"] and words["sentence"]
            text = (words["subject"] + " " + words["sentence"]).lower()
            assert not [value for value in forbidden if value.lower() in text], text
