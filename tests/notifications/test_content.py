"""Notifications and their mails carry nothing about the child (the security bar), in every language.

A whole scenario makes every kind the core sends (a new referral with its on-call alert,
each answer, messages both ways, a withdrawal, a legal-basis exception, a missed deadline
and its escalation, a daily digest, a match and its escalation, a consultation and its
answer). Then every notification's text and every mail are
rendered in English, Dutch and French and searched for the fixture child's identity and
triage data, the free texts typed on the way, the phenomenon and any token; each must
name the other organisation and link into the app.
"""

from __future__ import annotations

import copy
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import formats, translation

from coalition.mail.models import OutboundMail
from coalition.mail.services import render
from coalition.notifications import services
from coalition.notifications.choices import CHOOSABLE_KINDS, NotificationKind
from coalition.notifications.models import Escalation, Notification
from coalition.notifications.texts import link_path, texts_of
from partners.choices import Phenomenon
from referrals import jobs as referral_jobs
from referrals.choices import Signal
from referrals.consultations import consultation_answer, consultation_create
from referrals.matches import escalate_unattended
from referrals.models import Match, Referral
from tests.support.flows import CHILD
from tests.support.identity import IDENTITY
from tests.support.notifications import notification_mails

pytestmark = pytest.mark.django_db

LANGUAGES = ("en", "nl", "fr")
BASE_URL = "https://referrals.example.org"
BRUSSELS = ZoneInfo("Europe/Brussels")
AGE = 16
# The free texts of the scenario: each distinctive, none may reach a notification.
REASON = "Sleeps at the Quillfeather bus depot since the weekend."
SENDER_MESSAGE = "She will come with her cousin Brannoch to the intake."
RECIPIENT_MESSAGE = "Our counsellor Ysolde meets her at the Larkspur clinic."
DECLINE_REASON = "Our house on Thistlewick lane is full until spring."
JUSTIFICATION = "Imminent danger: the trafficker Morvane knows her address."
QUESTION = "Can you take the girl from the Wrenfield estate tonight?"
ANSWER_NOTE = "Our Brackenmoor house has one bed until Friday."
FREE_TEXT = [REASON, SENDER_MESSAGE, RECIPIENT_MESSAGE, DECLINE_REASON, JUSTIFICATION, QUESTION, ANSWER_NOTE]


def localized_labels(*choices) -> set[str]:
    labels = set()
    for choice in choices:
        for language in LANGUAGES:
            with translation.override(language):
                labels.add(str(choice.label))
    return labels


def forbidden(personas) -> list[str]:
    """Every value that must never appear: identity, triage data, free text, the phenomenon, tokens."""
    values = [*IDENTITY, *(v for v in CHILD.values()), *FREE_TEXT]
    values += ["teen_pimp", *localized_labels(Phenomenon.TEEN_PIMP)]
    values += ["general_behaviour", *localized_labels(Signal.GENERAL_BEHAVIOUR)]
    for persona in personas.values():
        if getattr(persona, "tokens", None) is not None:
            values += [persona.tokens.access, persona.tokens.refresh]
        if persona.raw_api_key:
            values.append(persona.raw_api_key)
    return values


# The age, as a text could say it (a bare "16" may be a clock time or a date).
AGE_PATTERNS = [
    rf"\b{AGE}\s*(years?|yrs?|y/o|jaar|ans)\b",
    rf"\b(age[ds]?|aged|leeftijd|âge)\W{{0,3}}{AGE}\b",
    rf"\b{AGE}\s*-\s*year",
]


def assert_says_nothing_about_the_child(text: str, values: list[str], where: str) -> None:
    lowered = text.lower()
    for value in values:
        if len(value) <= 6:  # short codes ("nl", "female"): as a whole word only
            assert not re.search(rf"\b{re.escape(value.lower())}\b", lowered), f"{value!r} in {where}:\n{text}"
        else:
            assert value.lower() not in lowered, f"{value!r} in {where}:\n{text}"
    for pattern in AGE_PATTERNS:
        assert not re.search(pattern, lowered), f"the age in {where}:\n{text}"
    assert "token" not in lowered, f"a token in {where}:\n{text}"


@pytest.fixture
def scenario(flow, personas, orgs, colleagues, settings):
    """Every kind of notification the core sends: five referrals from hotline-be to shelter-be, a match, a consultation."""
    people = {"hotline-be-caseworker": "nl", "shelter-be-caseworker": "fr", "coordinator": "en",
              "shelter-be-caseworker-2": "nl", "coordinator-2": "fr"}
    for user in [p.user for p in personas.values() if p.user] + [colleagues.shelter_second, colleagues.coordinator_second]:
        if user.username in people:
            user.language = people[user.username]
            user.save(update_fields=["language"])
    # The recipient's second caseworker reads everything in the daily digest (but what is immediate).
    services.preferences_update(user=colleagues.shelter_second, data={"mail": dict.fromkeys(CHOOSABLE_KINDS, "digest")})
    orgs["shelter-be"].on_call_email = "on-call@shelter-be.example.org"
    orgs["shelter-be"].save(update_fields=["on_call_email"])
    triage = {"reason": REASON, "age": AGE}

    def post_message(persona, referral_id, body):
        response = personas[persona].client.post(f"/api/v1/referrals/{referral_id}/messages/", {"body": body},
                                                 format="json")
        assert response.status_code == 201, response.json()

    def act(referral_id, action, persona, body=None):
        response = flow.act(referral_id, action, persona, body)
        assert response.status_code == 200, response.json()

    # An immediate referral: acknowledged, talked about both ways, accepted, completed.
    _case, first = flow.sent_referral(urgency="immediate", **triage)
    act(first["id"], "acknowledge", "recipient_caseworker")
    post_message("caseworker", first["id"], SENDER_MESSAGE)
    post_message("recipient_caseworker", first["id"], RECIPIENT_MESSAGE)
    act(first["id"], "accept", "recipient_caseworker")
    act(first["id"], "complete", "recipient_caseworker", {"outcome_code": "service_delivered"})
    # Declined with a reason.
    _case, declined = flow.sent_referral(**triage)
    act(declined["id"], "decline", "recipient_caseworker", {"reason_code": "other", "reason": DECLINE_REASON})
    # Withdrawn by its sender.
    _case, withdrawn = flow.sent_referral(**triage)
    act(withdrawn["id"], "withdraw", "caseworker")
    # Without consent, on a legal-basis exception; never acknowledged: overdue, then escalated.
    case = flow.open_case()
    draft = flow.draft(case["id"], legal_basis={"basis": "vital_interest", "justification": JUSTIFICATION}, **triage)
    act(draft["id"], "send", "caseworker")
    late = Referral.objects.get(pk=draft["id"])
    assert referral_jobs.detect_overdue(late.acknowledge_due + timedelta(minutes=1)) == 1
    assert services.escalate_due(now=Escalation.objects.get().escalate_at + timedelta(seconds=1)) == 1
    # The digest of the recipient's second caseworker, the next morning after 8 (Brussels).
    morning = (late.acknowledge_due + timedelta(days=1)).astimezone(BRUSSELS).replace(hour=9, minute=0)
    assert services.send_digests(now=morning) == 1

    # The same girl held by care-nl too, with consent to share information on both sides: a match, escalated.
    settings.MATCH_ENABLED = True
    orgs["care-nl"].name = "Test care centre"  # not "care-nl": "nl" is a code of the child's (her language)
    orgs["care-nl"].save(update_fields=["name"])
    sharing = {"purposes": ["information_sharing", "care_referral"]}
    hotline_case = flow.open_case()
    flow.consent(hotline_case["id"], **sharing)
    care_case = flow.open_case("outsider_caseworker", region="NL-NH")
    flow.consent(care_case["id"], "outsider_caseworker", **sharing)
    match = Match.objects.get()
    assert escalate_unattended(match.due_at + timedelta(minutes=1)) == 1
    # A consultation of shelter-be, answered yes with a note.
    consultation = consultation_create(actor=personas["caseworker"].user, organisations=[orgs["shelter-be"]], data={
        "phenomenon": "teen_pimp", "urgency": "urgent", "requested_service": "shelter", "age": AGE,
        "gender": "female", "question": QUESTION})
    consultation_answer(actor=personas["recipient_caseworker"].user, request=consultation.requests.get(),
                        answer="yes", note=ANSWER_NOTE)

    kinds = set(Notification.objects.values_list("kind", flat=True))
    assert kinds == set(NotificationKind.values)
    statuses = set(Notification.objects.filter(kind=NotificationKind.REFERRAL_ANSWERED).values_list("status", flat=True))
    assert statuses == {"acknowledged", "accepted", "declined", "completed"}
    assert set(notification_mails().values_list("template", flat=True)) == {"notification", "on_call",
                                                                           "notification_digest"}
    return forbidden(personas)


def rendered_in(mail: OutboundMail, language: str):
    other = copy.copy(mail)
    other.language = language
    return render(other)


def test_no_mail_in_any_language_says_anything_about_the_child(scenario):
    mails = list(notification_mails())
    assert len(mails) >= 15
    for mail in mails:
        for language in LANGUAGES:
            message = rendered_in(mail, language)
            text = f"{message.subject}\n{message.body}"
            assert_says_nothing_about_the_child(text, scenario, f"the {mail.template} mail in {language}")
            # The mail was written with that language active.
            assert message.message()["Content-Language"] == language
            assert f"{BASE_URL}/app/" in message.body


def test_each_mail_is_sent_in_its_readers_language(scenario):
    for notification in Notification.objects.filter(mail__template="notification").select_related("mail", "user"):
        assert notification.mail.language == services.language_of(notification.user)
    on_call = notification_mails().get(template="on_call")
    assert on_call.language == "nl"  # shelter-be's first language


def test_each_notifications_mail_names_the_other_organisation_and_links_to_it_in_the_app(scenario):
    notifications = Notification.objects.filter(mail__template="notification").select_related("mail", "organisation")
    assert notifications.count() >= 12
    for notification in notifications:
        for language in LANGUAGES:
            message = rendered_in(notification.mail, language)
            assert notification.organisation.name in message.subject, (notification.kind, language)
            assert f"{BASE_URL}{link_path(notification)}" in message.body
            assert link_path(notification).startswith("/app/")


def test_the_digest_and_the_on_call_mail_name_the_other_organisation_and_link_into_the_app(scenario, orgs):
    digest = notification_mails().get(template="notification_digest")
    on_call = notification_mails().get(template="on_call")
    for language in LANGUAGES:
        body = rendered_in(digest, language).body
        assert orgs["hotline-be"].name in body  # every digest item is about hotline-be's doings
        assert body.count(f"{BASE_URL}/app/referrals/") == len(digest.context["items"]) >= 4
        message = rendered_in(on_call, language)
        assert orgs["hotline-be"].name in message.subject and f"{BASE_URL}/app/referrals/" in message.body


def test_a_deadline_in_a_mail_is_written_in_the_mails_language(scenario):
    """The translations of the notifications' own sentences may come later; Django's month names are there already."""
    dated = Notification.objects.filter(mail__template="notification", due_at__isnull=False).select_related("mail")
    assert dated.exists()
    for notification in dated:
        local_due = notification.due_at.astimezone(BRUSSELS)
        months = {}
        for language in LANGUAGES:
            with translation.override(language):
                months[language] = formats.date_format(local_due, "F")
            assert months[language] in rendered_in(notification.mail, language).body, (notification.kind, language)
        assert months["nl"] != months["en"] and months["fr"] != months["en"]


def test_no_notification_text_in_any_language_says_anything_about_the_child(scenario):
    notifications = Notification.objects.select_related("organisation", "user__organisation")
    assert notifications.count() >= 20
    for notification in notifications:
        for language in LANGUAGES:
            with translation.override(language):
                texts = texts_of(notification, organisation=notification.organisation.name,
                                 own_organisation=notification.user.organisation.name, time_zone="Europe/Brussels")
            text = f"{texts['subject']}\n{texts['sentence']}"
            assert_says_nothing_about_the_child(text, scenario, f"a {notification.kind} text in {language}")
            assert notification.organisation.name in texts["subject"]
            assert texts["sentence"]
            assert link_path(notification).startswith("/app/")


def test_a_notification_keeps_codes_and_ids_only(scenario):
    """What is stored (and so what any text or a later API may show) cannot carry the child's data either."""
    for row in Notification.objects.values():
        stored = " ".join(str(value) for value in row.values() if value is not None)
        assert_says_nothing_about_the_child(stored, scenario, "a stored notification")
    for context in OutboundMail.objects.filter(template__in=["notification", "on_call", "notification_digest"]) \
            .values_list("context", flat=True):
        assert_says_nothing_about_the_child(str(context), scenario, "a stored mail's context")
