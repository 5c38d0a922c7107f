"""The referral form (web.views.referral_form): the directory, the preview, drafts, sending and re-routing.

The cases are opened and consented through the API (tests/support/flows.py); the form is
driven as a browser would post it, signed in as the personas.
"""

from __future__ import annotations

import html
import re
from datetime import date
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from coalition.audit.models import AuditEntry
from coalition.core.actors import Actor
from coalition.events.models import Event
from partners.choices import MembershipStatus, OrganisationKind, Phenomenon
from referrals.models import Consent, Referral
from tests.support.flows import CHILD
from tests.support.personas import make_organisation
from tests.support.web import web_client_for
from web.referral_forms import CaseworkerOf, recipient_view

GUARDIAN = "Aunt on 0470 00 00 00, weekdays only"
IDENTITY = [
    CHILD["given_name"], CHILD["family_name"], CHILD["date_of_birth"], "April 3, 2010", "03/04/2010",
    CHILD["municipality"], CHILD["safe_contact"], html.escape(CHILD["safe_contact"]), GUARDIAN,
]
REASON = "Needs a safe bed tonight; reachable through the school counsellor."
JUSTIFICATION = "Imminent danger: exploitation planned for tonight, no time to ask."


@pytest.fixture
def case(flow):
    return flow.open_case(subject=CHILD | {"guardian_contact": GUARDIAN})


@pytest.fixture
def consent(flow, case):
    return flow.consent(case["id"])


@pytest.fixture
def hotline(personas):
    return web_client_for(personas["caseworker"].user)


@pytest.fixture
def streetwork(orgs):
    """A second Belgian member that takes teen-pimp cases: somewhere to re-route to."""
    return make_organisation("streetwork-be", OrganisationKind.CARE_PROVIDER, phenomena=[Phenomenon.TEEN_PIMP])


def new_url(case_id) -> str:
    return f"/app/cases/{case_id}/referrals/new/"


def body(recipient, consent_id=None, **changes) -> dict:
    """What a browser posts for a complete service referral relying on ``consent_id``."""
    values = {
        "recipient": str(recipient.pk),
        "kind": "service",
        "phenomenon": "teen_pimp",
        "urgency": "urgent",
        "requested_service": "shelter",
        "reason": REASON,
        "signals": ["general_behaviour", "self_image"],
        "age": "16",
        "gender": "female",
        "region": "BE-VLG",
        "language": "nl",
        "sharing": "consent" if consent_id else "",
        "consent": consent_id or "",
        "action": "preview",
    }
    values.update(changes)
    return {name: value for name, value in values.items() if value is not None}


def text(response) -> str:
    return response.content.decode()


def error_beside(page: str, field: str) -> str:
    """The text of the error list tied to ``field`` (Django's ``id_<field>_error``), '' if none."""
    match = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', page, re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).strip() if match else ""


def errors_at_top(page: str) -> str:
    match = re.search(r'<div class="form-errors"[^>]*>(.*?)</div>', page, re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))) if match else ""


def listed(page: str) -> set[str]:
    """Ids of the members offered as recipients."""
    return set(re.findall(r'name="recipient" value="([0-9a-f-]+)"', page))


def preview_section(page: str) -> str:
    match = re.search(r'<section id="preview".*?</section>', page, re.S)
    assert match, "the page shows a preview"
    return match.group(0)


def age_today(born: str) -> int:
    birth, today = date.fromisoformat(born), timezone.localdate()
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def referral_count() -> int:
    return Referral.objects.count()


# --- the directory, pre-filled from the case -------------------------------------------


def test_the_directory_is_pre_filled_from_the_case_and_lists_who_fits(hotline, case, consent, orgs):
    response = hotline.get(new_url(case["id"]))

    assert response.status_code == 200
    page = text(response)
    assert re.search(r'<option value="teen_pimp" selected>', page)
    assert f'name="age" value="{age_today(CHILD["date_of_birth"])}"' in page
    assert 'name="region" value="BE-VLG"' in page
    assert re.search(r'id="filter-language">.*?<option value="nl" selected>', page, re.S)
    # Who fits a 16-year-old Dutch-speaking teen-pimp case in Flanders: the shelter, not the Dutch care provider.
    assert listed(page) == {str(orgs["shelter-be"].pk)}
    # The referral's own triage fields start from the case too.
    assert re.search(r'id="id_gender">.*?<option value="female" selected>', page, re.S)
    assert 'id="id_consent_0"' in page and "checked" in re.search(r'<input[^>]*id="id_consent_0"[^>]*>', page).group(0)


def test_reading_the_young_person_to_pre_fill_the_form_is_audited_but_shows_no_identity(hotline, case, consent):
    before = AuditEntry.objects.filter(action="subject.read").count()

    page = text(hotline.get(new_url(case["id"])))

    assert AuditEntry.objects.filter(action="subject.read").count() == before + 1
    for value in IDENTITY:
        assert value not in page


def test_the_directory_filters_swap_the_list_in_place_and_work_as_a_plain_get_form(hotline, case, orgs):
    query = "?phenomenon=grooming&age=&region=&language="

    partial = hotline.get(new_url(case["id"]) + query, HTTP_HX_REQUEST="true")
    full = hotline.get(new_url(case["id"]) + query)

    assert partial.status_code == full.status_code == 200
    assert "<html" not in text(partial) and 'hx-swap-oob="innerHTML"' in text(partial)
    assert listed(text(partial)) == listed(text(full)) == {str(orgs["care-nl"].pk)}
    assert 'value="grooming" selected' in text(full)


def test_the_htmx_list_keeps_the_chosen_recipient_when_it_no_longer_fits_the_filters(hotline, case, orgs):
    shelter = str(orgs["shelter-be"].pk)

    partial = hotline.get(new_url(case["id"]) + f"?phenomenon=grooming&recipient={shelter}", HTTP_HX_REQUEST="true")

    page = text(partial)
    assert listed(page) == {shelter, str(orgs["care-nl"].pk)}
    assert re.search(rf'value="{shelter}"[^>]*checked', page)


@pytest.mark.parametrize(
    "change",
    [{"accepting_referrals": False}, {"membership_status": MembershipStatus.SUSPENDED}],
    ids=["not accepting referrals", "suspended"],
)
def test_a_member_that_cannot_receive_is_not_offered_and_is_refused_if_forced(hotline, case, consent, orgs, change):
    closed = make_organisation("closed-be", OrganisationKind.SHELTER, phenomena=[Phenomenon.TEEN_PIMP], **change)
    page = text(hotline.get(new_url(case["id"]) + "?phenomenon=&age=&region=&language="))
    assert str(closed.pk) not in listed(page)
    assert str(orgs["shelter-be"].pk) in listed(page)

    before = referral_count()
    response = hotline.post(new_url(case["id"]), body(closed, consent["id"], action="save"))

    assert response.status_code == 422
    assert "does not accept referrals now" in error_beside(text(response), "recipient")
    assert referral_count() == before


def test_neither_the_own_organisation_nor_the_coordination_is_offered(hotline, case, orgs):
    page = text(hotline.get(new_url(case["id"]) + "?phenomenon=&age=&region=&language="))

    assert str(orgs["hotline-be"].pk) not in listed(page)
    assert str(orgs["coordination"].pk) not in listed(page)


def test_the_form_page_costs_the_same_queries_whatever_the_number_of_organisations(hotline, case, consent):
    url = new_url(case["id"]) + "?phenomenon=teen_pimp&age=16&region=BE-VLG&language="
    hotline.get(url)  # warm up: sessions, content types

    with CaptureQueriesContext(connection) as few:
        assert hotline.get(url).status_code == 200
    for n in range(25):
        make_organisation(f"extra-{n}", OrganisationKind.NGO, phenomena=[Phenomenon.TEEN_PIMP])
    with CaptureQueriesContext(connection) as many:
        response = hotline.get(url)

    assert len(listed(text(response))) >= 26
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


# --- preview: what the recipient will see --------------------------------------------


def test_the_preview_holds_no_identity_and_writes_nothing(hotline, case, consent, orgs):
    counts = (referral_count(), AuditEntry.objects.count(), Event.objects.count())

    response = hotline.post(new_url(case["id"]), body(orgs["shelter-be"], consent["id"], action="preview"))

    assert response.status_code == 200
    page = text(response)
    preview = preview_section(page)
    for value in IDENTITY:
        assert value not in page
    assert REASON in preview and "Teen pimps (loverboys)" in preview
    assert "does not get the young person&#x27;s name" in preview or "does not get the young person's name" in preview
    assert (referral_count(), AuditEntry.objects.count(), Event.objects.count()) == counts


def test_enter_in_a_field_previews_and_never_sends(hotline, case, consent, orgs):
    """A browser submits with the first submit button of the form in the page: it must be "Preview"."""
    page = text(hotline.post(new_url(case["id"]), body(orgs["shelter-be"], consent["id"], action="preview")))

    buttons = re.findall(r'<button type="submit"(?: form="referral-form")? name="action" value="(\w+)"', page)
    assert buttons[0] == "preview"
    assert buttons.count("send") == 2  # the form's and the preview's, both after it


def test_the_preview_is_what_the_recipient_gets_once_the_referral_is_sent(hotline, case, consent, orgs, personas):
    form = body(orgs["shelter-be"], consent["id"])
    preview = preview_section(text(hotline.post(new_url(case["id"]), form | {"action": "preview"})))

    response = hotline.post(new_url(case["id"]), form | {"action": "send"})

    assert response.status_code == 302
    sent = Referral.objects.get(case_id=case["id"])
    assert response["Location"] == f"/app/referrals/{sent.pk}/"
    received = personas["recipient_caseworker"].client.get(f"/api/v1/referrals/{sent.pk}/").json()
    # The recipient's own page renders its API representation with the same partial: the preview holds exactly that.
    assert render_to_string("web/referrals/_triage.html", {"r": received}) in preview
    assert received["reason"] == REASON and received["signals"] == ["general_behaviour", "self_image"]


def test_the_preview_of_a_draft_equals_the_recipients_representation_after_sending(flow, case, consent, personas):
    draft = flow.draft(case["id"], consent=consent["id"])
    referral = Referral.objects.select_related("recipient", "case", "consent").get(pk=draft["id"])

    assert isinstance(CaseworkerOf(referral.recipient), Actor)  # the stand-in the selectors are asked about
    previewed = recipient_view(referral)
    assert flow.act(draft["id"], "send", "caseworker").status_code == 200
    received = personas["recipient_caseworker"].client.get(f"/api/v1/referrals/{draft['id']}/").json()

    moments = {"sent_at", "acknowledge_due", "decide_due", "allowed_actions"}
    assert {k: v for k, v in previewed.items() if k not in moments} == {
        k: v for k, v in received.items() if k not in moments
    }


def test_a_legal_basis_preview_shows_the_justification_the_recipient_will_read(hotline, case, orgs):
    form = body(orgs["shelter-be"], sharing="legal_basis", legal_basis="vital_interest",
                legal_basis_justification=JUSTIFICATION)

    preview = preview_section(text(hotline.post(new_url(case["id"]), form)))

    assert "Vital interest (imminent danger)" in preview and JUSTIFICATION in preview


# --- drafts, sending, withdrawing ----------------------------------------------------


def test_save_as_draft_keeps_a_draft_the_recipient_does_not_see(hotline, case, consent, orgs, personas):
    response = hotline.post(new_url(case["id"]), body(orgs["shelter-be"], consent["id"], action="save"))

    draft = Referral.objects.get(case_id=case["id"])
    assert response.status_code == 302 and response["Location"] == f"/app/referrals/{draft.pk}/edit/"
    assert (draft.status, draft.kind, draft.urgency, draft.reason) == ("draft", "service", "urgent", REASON)
    assert draft.consent_id is not None and draft.signals == ["general_behaviour", "self_image"]
    incoming = personas["recipient_caseworker"].client.get("/api/v1/referrals/?direction=incoming").json()
    assert incoming["results"] == []
    page = text(hotline.get(response["Location"]))
    assert "The draft is saved" in page
    assert REASON in page


def test_a_draft_is_changed_previewed_and_sent_from_its_page(hotline, case, consent, orgs):
    hotline.post(new_url(case["id"]), body(orgs["shelter-be"], consent["id"], action="save"))
    draft = Referral.objects.get(case_id=case["id"])
    edit = f"/app/referrals/{draft.pk}/edit/"
    changed = body(orgs["shelter-be"], consent["id"], urgency="immediate", version=str(draft.version))

    preview = preview_section(text(hotline.post(edit, changed | {"action": "preview"})))
    assert "Immediate" in preview
    draft.refresh_from_db()
    assert draft.urgency == "urgent"  # a preview changes nothing

    response = hotline.post(edit, changed | {"action": "send"})

    assert response.status_code == 302 and response["Location"] == f"/app/referrals/{draft.pk}/"
    draft.refresh_from_db()
    assert (draft.status, draft.urgency) == ("sent", "immediate")
    assert draft.acknowledge_due is not None


def test_a_draft_changed_meanwhile_is_not_overwritten(hotline, case, consent, orgs):
    hotline.post(new_url(case["id"]), body(orgs["shelter-be"], consent["id"], action="save"))
    draft = Referral.objects.get(case_id=case["id"])

    response = hotline.post(
        f"/app/referrals/{draft.pk}/edit/",
        body(orgs["shelter-be"], consent["id"], urgency="normal", action="save", version=str(draft.version + 1)),
    )

    assert response.status_code == 422
    assert "changed this meanwhile" in errors_at_top(text(response))
    draft.refresh_from_db()
    assert draft.urgency == "urgent"


def test_a_draft_is_withdrawn_from_its_page(hotline, case, consent, orgs):
    hotline.post(new_url(case["id"]), body(orgs["shelter-be"], consent["id"], action="save"))
    draft = Referral.objects.get(case_id=case["id"])

    response = hotline.post(f"/app/referrals/{draft.pk}/edit/", {"action": "withdraw", "version": draft.version})

    assert response.status_code == 302 and response["Location"] == f"/app/cases/{case['id']}/"
    draft.refresh_from_db()
    assert draft.status == "withdrawn"


def test_a_drafts_recipient_that_stopped_accepting_is_no_longer_offered(hotline, case, consent, orgs):
    hotline.post(new_url(case["id"]), body(orgs["shelter-be"], consent["id"], action="save"))
    draft = Referral.objects.get(case_id=case["id"])
    orgs["shelter-be"].accepting_referrals = False
    orgs["shelter-be"].save()

    page = text(hotline.get(f"/app/referrals/{draft.pk}/edit/"))

    assert str(orgs["shelter-be"].pk) not in listed(page)
    assert "The recipient chosen before does not accept referrals now" in page


def test_a_referral_that_is_no_longer_a_draft_cannot_be_edited(hotline, flow, case, consent):
    sent = flow.draft(case["id"], consent=consent["id"])
    assert flow.act(sent["id"], "send", "caseworker").status_code == 200

    response = hotline.get(f"/app/referrals/{sent['id']}/edit/")

    assert response.status_code == 409
    assert f'href="/app/referrals/{sent["id"]}/"' in text(response)


# --- bad input -----------------------------------------------------------------------


def _other_case_consent(flow):
    other = flow.open_case(persona="outsider_caseworker", phenomena=["grooming"], region="NL-NH")
    return flow.consent(other["id"], persona="outsider_caseworker")["id"]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"recipient": "", "urgency": ""}, "recipient", "Choose the recipient."),
        ({"recipient": "", "urgency": ""}, "urgency", "This field is required."),
        ({"recipient": "8d7f2b1e-0000-4000-8000-000000000000"}, "recipient", "Unknown organisation."),
        ({"consent": "8d7f2b1e-0000-4000-8000-000000000000"}, "consent", "No such consent in this case."),
        ({"consent": "other-case"}, "consent", "No such consent in this case."),
        ({"reason": "x" * 1001}, "reason", "at most 1000 characters"),
        ({"sharing": "legal_basis", "legal_basis": "vital_interest", "legal_basis_justification": ""},
         "legal_basis_justification", "may not be blank"),
        ({"sharing": "legal_basis", "legal_basis": "vital_interest", "legal_basis_justification": "too short"},
         "legal_basis_justification", "at least 20 characters"),
        ({"sharing": "legal_basis", "legal_basis": ""}, "legal_basis", "Choose the legal basis."),
        ({"region": "Imaginaria"}, "region", "at most 6 characters"),
        ({"region": "B"}, "region", "ISO 3166-2"),
        ({"age": "31"}, "age", "less than or equal to 25"),
        ({"kind": "wizard"}, "kind", "Not one of the allowed values."),
    ],
    ids=[
        "missing recipient", "missing urgency", "random recipient id", "random consent id",
        "another organisation's consent", "oversized reason", "legal basis without justification",
        "short justification", "legal basis not chosen", "region too long", "region not a code", "age out of range",
        "unknown kind",
    ],
)
@pytest.mark.parametrize("action", ["save", "send", "preview"])
def test_bad_input_shows_its_error_beside_its_field_and_changes_nothing(
    hotline, flow, case, consent, orgs, changes, field, message, action
):
    if changes.get("consent") == "other-case":
        changes = changes | {"consent": _other_case_consent(flow)}
    counts = (referral_count(), Event.objects.count())

    response = hotline.post(new_url(case["id"]), body(orgs["shelter-be"], consent["id"], action=action) | changes)

    assert response.status_code == 422
    page = text(response)
    assert message in error_beside(page, field), error_beside(page, field) or errors_at_top(page)
    assert f'aria-describedby="id_{field}_error' in page or f'id_{field}_helptext id_{field}_error' in page
    assert "Nothing was saved or sent." in errors_at_top(page)
    assert (referral_count(), Event.objects.count()) == counts
    assert "x" * 1001 not in page or field == "reason"


def test_sending_with_a_consent_that_does_not_cover_the_recipient_says_why_and_changes_nothing(
    hotline, flow, case, orgs
):
    only_care = flow.consent(case["id"], recipients=[str(orgs["care-nl"].pk)])
    counts = (referral_count(), AuditEntry.objects.count(), Event.objects.count())

    response = hotline.post(new_url(case["id"]), body(orgs["shelter-be"], only_care["id"], action="send"))

    assert response.status_code == 422
    assert "The consent does not cover this recipient" in errors_at_top(text(response))
    assert (referral_count(), AuditEntry.objects.count(), Event.objects.count()) == counts


def test_sending_without_any_legal_basis_is_refused_at_the_forms_top(hotline, case, orgs):
    response = hotline.post(new_url(case["id"]), body(orgs["shelter-be"], action="send"))

    assert response.status_code == 422
    assert "Sharing needs a valid consent or a justified legal-basis exception." in errors_at_top(text(response))
    assert referral_count() == 0


@pytest.mark.parametrize(
    ("language", "required", "unknown"),
    [("nl", "Kies de ontvanger.", "Onbekende organisatie."), ("fr", "Choisissez le destinataire.", "Organisation inconnue.")],
)
def test_errors_are_in_the_persons_language(hotline, case, consent, orgs, language, required, unknown):
    url = new_url(case["id"])
    form = body(orgs["shelter-be"], consent["id"])
    missing = hotline.post(url, form | {"recipient": ""}, HTTP_ACCEPT_LANGUAGE=language)
    random_id = hotline.post(url, form | {"recipient": "8d7f2b1e-0000-4000-8000-000000000000"}, HTTP_ACCEPT_LANGUAGE=language)

    assert required in error_beside(text(missing), "recipient")
    assert unknown in error_beside(text(random_id), "recipient")


def test_only_the_lead_is_offered_a_transfer_and_a_forced_one_is_refused(flow, personas, orgs, consent, case):
    referral = flow.draft(case["id"], consent=consent["id"])
    assert flow.act(referral["id"], "send", "caseworker").status_code == 200
    assert flow.act(referral["id"], "accept", "recipient_caseworker").status_code == 200
    shelter = web_client_for(personas["recipient_caseworker"].user)
    url = new_url(case["id"])

    page = text(shelter.get(url))
    assert 'value="service"' in page and 'value="transfer"' not in page

    response = shelter.post(url, body(orgs["care-nl"], consent["id"], kind="transfer", action="save"))
    assert response.status_code == 422
    assert "Not one of the allowed values." in error_beside(text(response), "kind")


# --- who may use the form ------------------------------------------------------------


def test_another_organisations_case_is_not_found(personas, case, consent, orgs):
    outsider = web_client_for(personas["outsider_caseworker"].user)

    assert outsider.get(new_url(case["id"])).status_code == 404
    assert outsider.post(new_url(case["id"]), body(orgs["shelter-be"], consent["id"], action="save")).status_code == 404
    assert outsider.get(new_url("8d7f2b1e-0000-4000-8000-000000000000")).status_code == 404
    assert referral_count() == 0


def test_only_the_sender_reaches_a_drafts_or_a_declined_referrals_form(flow, personas, case, consent):
    draft = flow.draft(case["id"], consent=consent["id"])
    sent = flow.draft(case["id"], recipient="care-nl", consent=consent["id"])
    assert flow.act(sent["id"], "send", "caseworker").status_code == 200
    recipient = web_client_for(personas["recipient_caseworker"].user)
    care = web_client_for(personas["outsider_caseworker"].user)

    assert recipient.get(f"/app/referrals/{draft['id']}/edit/").status_code == 404  # a draft never reached it
    assert care.get(f"/app/referrals/{sent['id']}/edit/").status_code == 404  # it received it: not its own
    assert care.get(f"/app/referrals/{sent['id']}/reroute/").status_code == 404


def test_a_person_without_the_caseworker_role_is_refused(personas, case):
    coordinator = web_client_for(personas["coordinator"].user)

    assert coordinator.get(new_url(case["id"])).status_code == 403


def test_other_methods_are_not_allowed(hotline, case):
    assert hotline.put(new_url(case["id"])).status_code == 405
    assert hotline.delete(new_url(case["id"])).status_code == 405


# --- re-routing a declined referral in one step ----------------------------------------


@pytest.fixture
def declined(flow, case, consent):
    referral = flow.draft(case["id"], consent=consent["id"])
    assert flow.act(referral["id"], "send", "caseworker").status_code == 200
    response = flow.act(
        referral["id"], "decline", "recipient_caseworker", {"reason_code": "no_capacity", "reason": "No bed free."}
    )
    assert response.status_code == 200
    return response.json()


def test_the_reroute_form_starts_from_the_declined_referral_without_its_recipient(hotline, declined, orgs, streetwork):
    response = hotline.get(f"/app/referrals/{declined['id']}/reroute/")

    assert response.status_code == 200
    page = text(response)
    assert "Needs a safe bed tonight" in page  # the declined referral's reason
    assert "No capacity" in page
    assert str(orgs["shelter-be"].pk) not in listed(page)
    assert str(streetwork.pk) in listed(page)


def test_a_declined_referral_is_rerouted_in_one_step(hotline, declined, consent, orgs, streetwork):
    form = body(streetwork, consent["id"], action="send", reason="Declined by the shelter; needs a place soon.")

    response = hotline.post(f"/app/referrals/{declined['id']}/reroute/", form)

    rerouted = Referral.objects.get(rerouted_from_id=declined["id"])
    assert response.status_code == 302 and response["Location"] == f"/app/referrals/{rerouted.pk}/"
    assert (rerouted.status, rerouted.recipient_id) == ("sent", streetwork.pk)


def test_a_reroute_saved_as_a_draft_is_offered_back_on_the_reroute_page(hotline, declined, consent, streetwork):
    reroute = f"/app/referrals/{declined['id']}/reroute/"
    hotline.post(reroute, body(streetwork, consent["id"], action="save"))
    draft = Referral.objects.get(rerouted_from_id=declined["id"])
    assert draft.status == "draft"

    page = text(hotline.get(reroute))

    assert "is saved as a draft already" in page
    assert f'href="/app/referrals/{draft.pk}/edit/"' in page


def test_the_declined_recipient_is_refused_if_forced_on_a_reroute(hotline, declined, consent, orgs):
    response = hotline.post(
        f"/app/referrals/{declined['id']}/reroute/", body(orgs["shelter-be"], consent["id"], action="send")
    )

    assert response.status_code == 422
    assert "not offered" in error_beside(text(response), "recipient")
    assert not Referral.objects.filter(rerouted_from_id=declined["id"]).exists()


def test_a_reroute_whose_sending_fails_stays_a_draft_and_says_why_on_its_form(hotline, flow, case, declined, orgs, streetwork):
    only_shelter = flow.consent(case["id"], recipients=[str(orgs["shelter-be"].pk)])

    response = hotline.post(
        f"/app/referrals/{declined['id']}/reroute/", body(streetwork, only_shelter["id"], action="send")
    )

    assert response.status_code == 422
    draft = Referral.objects.get(rerouted_from_id=declined["id"])
    assert draft.status == "draft"
    page = text(response)
    assert "The consent does not cover this recipient" in errors_at_top(page)
    assert f'action="/app/referrals/{draft.pk}/edit/"' in page  # the form now works on that draft
    assert f'name="version" value="{draft.version}"' in page


def test_only_a_declined_referral_can_be_rerouted(hotline, flow, case, consent):
    sent = flow.draft(case["id"], consent=consent["id"])
    assert flow.act(sent["id"], "send", "caseworker").status_code == 200

    assert hotline.get(f"/app/referrals/{sent['id']}/reroute/").status_code == 409


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_the_form_and_its_preview_speak_the_persons_language(hotline, case, consent, orgs, language):
    from django.utils import translation

    response = hotline.post(new_url(case["id"]), body(orgs["shelter-be"], consent["id"]), HTTP_ACCEPT_LANGUAGE=language)

    page = text(response)
    assert response.status_code == 200
    for english in ("Preview what the recipient will see", "Save as draft", "Legal basis for sharing",
                    "What Test shelter-be will see before accepting", "Not shared", "Signals"):
        assert english not in page, english
    with translation.override(language):
        assert str(translation.gettext("Save as draft")) in page


# --- structure for keyboards and screen readers ----------------------------------------


class _Controls(HTMLParser):
    """Every form control of a page, the labels' ``for`` targets, and the radio and checkbox groups' fieldsets."""

    def __init__(self):
        super().__init__()
        self.controls: list[dict] = []
        self.labelled: set[str] = set()
        self.fieldsets: list[dict] = []
        self._open: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "fieldset":
            self._open.append({"legend": False})
            self.fieldsets.append(self._open[-1])
        elif tag == "legend" and self._open:
            self._open[-1]["legend"] = True
        elif tag == "label" and attributes.get("for"):
            self.labelled.add(attributes["for"])
        elif tag in ("input", "select", "textarea") and attributes.get("type") not in ("hidden", "submit"):
            self.controls.append(attributes | {"tag": tag, "in_fieldset": bool(self._open)})

    def handle_endtag(self, tag):
        if tag == "fieldset" and self._open:
            self._open.pop()


def test_every_control_has_a_label_and_every_group_a_fieldset_with_a_legend(hotline, case, consent, orgs):
    page = text(hotline.post(new_url(case["id"]), body(orgs["shelter-be"], consent["id"]) | {"recipient": ""}))
    controls = _Controls()
    controls.feed(page)

    assert controls.controls
    for control in controls.controls:
        assert control.get("id") in controls.labelled, control
        if control.get("type") in ("radio", "checkbox"):
            assert control["in_fieldset"], control
    assert all(fieldset["legend"] for fieldset in controls.fieldsets)
    assert page.count("<h1") == 1
    assert 'aria-describedby="id_recipient_error"' in page


def test_an_expired_consent_is_not_offered(hotline, flow, case, consent):
    lapsed = flow.consent(case["id"], valid_from="2020-01-01", valid_until="2020-12-31")
    page = hotline.get(new_url(case["id"])).content.decode()
    assert consent["id"] in page
    assert lapsed["id"] not in page
    assert Consent.objects.filter(pk=lapsed["id"]).exists()  # recorded, only not offered
