"""Coalition membership, for coordinators: the members, admitting one, suspending and re-admitting, inviting its org admin.

The pages are the API's organisation endpoints (``partners/api/views.py``,
``OrganisationViewSet``): the directory through ``partners.selectors.organisations_visible_to``
filtered by the API's ``OrganisationFilter``; admitting through ``OrganisationAdmitSerializer``
and ``partners.services.organisation_admit``; suspending and re-admitting through
``organisation_set_membership``, which decides (the coordination itself is never suspended, a
status is never set twice); a member's first org admin through ``OrgAdminInvitationSerializer``
and ``organisation_add_admin``, the invitation flow: a one-time link goes to the admin's own
address and they choose their own password. Nobody here ever sees or sets a password.

A member's page shows what the API shows a coordinator: its directory entry, and the
invitations this coordinator sent for it (``invitations_visible_to``: a coordinator sees the
invitations they sent, not the organisation's people, which are its org admins' to manage).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from coalition.core.errors import DomainError
from partners import services
from partners.api.serializers import InvitationSerializer, OrganisationSerializer
from partners.choices import Country, MembershipStatus, OrganisationKind, Role
from partners.models import InvitationStatus, Organisation, User
from partners.selectors import invitations_visible_to, organisations_visible_to

from ..errors import add_domain_error
from ..oversight_forms import AdmitForm, InviteAdminForm, MemberFilterForm
from ..pages import person, role_required, scoped_or_404, signed_in

PAGE_SIZE = 25

# Membership is the coordinators' work: anyone else signed in gets the 403 page.
coordinator_only = role_required(Role.COORDINATOR)


def _labels(data: dict[str, Any]) -> dict[str, Any]:
    """The directory entry's codes with their labels beside (the API gives codes)."""
    return data | {
        "kind_label": OrganisationKind(data["kind"]).label,
        "membership_label": MembershipStatus(data["membership_status"]).label,
        "country_label": _country(data["country"]),
    }


def _country(code: str) -> Any:
    try:
        return Country(code).label
    except ValueError:
        return code


def _member(actor: User, pk: UUID) -> Organisation:
    return scoped_or_404(organisations_visible_to(actor).prefetch_related("capacity"), pk)


# --- the members ----------------------------------------------------------------------------------


@signed_in
@require_safe
@coordinator_only
def member_list(request: HttpRequest) -> HttpResponse:
    """Every organisation of the coalition, by name, filtered by membership status and kind."""
    actor = person(request)
    form = MemberFilterForm(request.GET)
    organisations = form.filtered(organisations_visible_to(actor)).prefetch_related("capacity").order_by("name", "slug")
    page = Paginator(organisations, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [_labels(data) for data in OrganisationSerializer(page.object_list, many=True).data]
    return render(request, "web/members/list.html", {"nav": "members", "form": form, "page": page, "rows": rows})


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@coordinator_only
def member_admit(request: HttpRequest) -> HttpResponse:
    """Admitting a new member: it starts active, and its org admin is invited next."""
    actor = person(request)
    context: dict[str, Any] = {"nav": "members"}
    if request.method != "POST":
        return render(request, "web/members/admit.html", context | {"form": AdmitForm()})
    form = AdmitForm(request.POST)
    if form.is_valid():
        try:
            organisation = services.organisation_admit(actor=actor, data=form.validated)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("The organisation is admitted as an active member. Invite its org admin now."))
            return redirect("web:member", pk=organisation.pk)
    return render(request, "web/members/admit.html", context | {"form": form}, status=422)


@signed_in
@require_safe
@coordinator_only
def member_page(request: HttpRequest, pk: UUID) -> HttpResponse:
    """A member: its directory entry, its membership, and the org admin invitations you sent for it."""
    actor = person(request)
    organisation = _member(actor, pk)
    return render(request, "web/members/detail.html", _member_context(actor, organisation))


def _member_context(actor: User, organisation: Organisation) -> dict[str, Any]:
    invitations = invitations_visible_to(actor).filter(organisation=organisation).order_by("-created_at", "id")
    return {
        "nav": "members",
        "o": _labels(OrganisationSerializer(organisation).data),
        "organisation": organisation,
        "is_coordination": organisation.kind == OrganisationKind.COORDINATOR,
        "invitations": [
            data | {"status_label": InvitationStatus(data["status"]).label}
            for data in InvitationSerializer(invitations, many=True).data
        ],
    }


# --- suspending and re-admitting --------------------------------------------------------------------


def _membership_change(request: HttpRequest, pk: UUID, *, status: str, template: str, done: Promise) -> HttpResponse:
    """A confirmation page; its POST sets the membership status through the service, which decides."""
    actor = person(request)
    organisation = _member(actor, pk)
    context = _member_context(actor, organisation) | {"errors": []}
    if request.method != "POST":
        return render(request, template, context)
    try:
        services.organisation_set_membership(actor=actor, organisation=organisation, status=status)
    except DomainError as error:
        form = forms.Form({})
        form.is_valid()
        add_domain_error(form, error)
        context = _member_context(actor, _member(actor, pk)) | {"errors": form.non_field_errors()}
        return render(request, template, context, status=422)
    messages.success(request, str(done))
    return redirect("web:member", pk=organisation.pk)


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@coordinator_only
def member_suspend(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Suspending a member, after a confirmation: it keeps only what it needs to hand its open cases over."""
    return _membership_change(
        request, pk, status=MembershipStatus.SUSPENDED, template="web/members/suspend.html",
        done=gettext_lazy("The organisation is suspended."),
    )


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@coordinator_only
def member_readmit(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Re-admitting a suspended (or departed) member, after a confirmation: it is an active member again."""
    return _membership_change(
        request, pk, status=MembershipStatus.ACTIVE, template="web/members/readmit.html",
        done=gettext_lazy("The organisation is an active member again."),
    )


# --- inviting the org admin ----------------------------------------------------------------------------


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@coordinator_only
def member_invite_admin(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Inviting a member's org admin: a one-time link to their address; they choose their own password."""
    actor = person(request)
    organisation = _member(actor, pk)
    context = _member_context(actor, organisation)
    if request.method != "POST":
        return render(request, "web/members/invite_admin.html", context | {"form": InviteAdminForm()})
    form = InviteAdminForm(request.POST)
    if form.is_valid():
        try:
            services.organisation_add_admin(actor=actor, organisation=organisation, **form.validated)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _(
                "The invitation is sent. The link goes to the address you gave only; the invitation is listed below."
            ))
            return redirect("web:member", pk=organisation.pk)
    return render(request, "web/members/invite_admin.html", context | {"form": form}, status=422)
