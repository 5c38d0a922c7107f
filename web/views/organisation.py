"""The org admin's pages: the organisation's people and invitations, approvals, the profile, the settings.

Every page is for org admins (anyone else signed in gets the 403 page) and acts on the
admin's own organisation only. Reads go through ``partners.selectors`` with the signed-in
person as actor (``users_visible_to``, ``invitations_visible_to``, ``approvals_visible_to``,
``organisations_visible_to``), so a colleague, an invitation or a request of another
organisation is the same 404 page as one that does not exist. Writes go through the
services the API's ``partners.api.views`` call (``invitation_create``, ``user_update``,
``password_reset_send``, ``user_reset_totp``, ``invitation_resend``, ``invitation_revoke``,
``approval_decide``, ``organisation_update``, ``capacity_set``), which decide and write the audit entry: a
refusal comes back on the page (422), nothing changed. The people and settings pages also list
the organisation's mail problems (``coalition.notifications.selectors.mail_problems``): the
addresses, a person's or the on-call one, whose latest notification mail failed for good.

Nobody sets another person's password here: people come by invitation and new passwords by
a reset link, each mailed to the person's own address.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from coalition.core.errors import DomainError
from coalition.notifications.selectors import mail_problems
from partners import services
from partners.choices import ApiKeyScope, MembershipStatus, OrganisationKind, Role
from partners.models import AccessApproval, ApprovalStatus, Invitation, InvitationStatus, Organisation, User
from partners.selectors import (
    approvals_visible_to,
    invitations_visible_to,
    organisations_visible_to,
    users_visible_to,
)

from ..errors import add_domain_error
from ..organisation_forms import CapacityForm, DecisionForm, InviteForm, ProfileForm, RolesForm, SettingsForm
from ..pages import person, role_required, scoped_or_404, signed_in

PAGE_SIZE = 50

# The organisation's pages are for its org admins: anyone else signed in gets the 403 page.
org_admin_only = role_required(Role.ORG_ADMIN)

ROLE_LABELS = dict(Role.choices)
INVITATION_STATUS_LABELS = dict(InvitationStatus.choices)
APPROVAL_STATUS_LABELS = dict(ApprovalStatus.choices)


def role_labels(roles: list[str]) -> str:
    return ", ".join(str(ROLE_LABELS.get(role, role)) for role in roles)


# --- what the pages read: the admin's own organisation only ----------------------------------------


def _people(actor: User) -> QuerySet[User]:
    return users_visible_to(actor)


def _invitations(actor: User) -> QuerySet[Invitation]:
    """The organisation's invitations (a coordinator's selector also holds the ones they sent elsewhere)."""
    return invitations_visible_to(actor).filter(organisation_id=actor.organisation.pk)


def _approvals(actor: User) -> QuerySet[AccessApproval]:
    return approvals_visible_to(actor).filter(organisation_id=actor.organisation.pk)


def _organisation(actor: User) -> Organisation:
    return scoped_or_404(organisations_visible_to(actor), actor.organisation.pk)


def _colleague(actor: User, pk: UUID) -> User:
    return scoped_or_404(_people(actor), pk)


def _confirmation(
    request: HttpRequest, template: str, context: dict[str, Any], *, act: Callable[[], Any], done: str, then: str,
    **then_kwargs: Any,
) -> HttpResponse:
    """A confirmation page on GET; on POST the service's action, then back to ``then`` (or its refusal, 422)."""
    if request.method != "POST":
        return render(request, template, context | {"form": forms.Form()})
    form = forms.Form({})
    form.is_valid()
    try:
        act()
    except DomainError as error:
        add_domain_error(form, error)
        return render(request, template, context | {"form": form}, status=422)
    messages.success(request, done)
    return redirect(then, **then_kwargs)


# --- people and invitations ------------------------------------------------------------------------


@signed_in
@require_safe
@org_admin_only
def people(request: HttpRequest) -> HttpResponse:
    """The organisation's people (roles, active, second factor, last sign-in) and its open invitations."""
    actor = person(request)
    # The organisation is joined: whether a second factor is required depends on its setting.
    page = Paginator(_people(actor).select_related("organisation").order_by("username"), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"person": user, "roles": role_labels(user.roles)} for user in page.object_list]
    open_invitations = (
        _invitations(actor).filter(accepted_at__isnull=True, revoked_at__isnull=True)
        .select_related("invited_by").order_by("-created_at")
    )
    invitations = [
        {"invitation": invitation, "roles": role_labels(invitation.roles), "status": invitation.status,
         "status_label": INVITATION_STATUS_LABELS[invitation.status]}
        for invitation in open_invitations
    ]
    pending = _approvals(actor).filter(status=ApprovalStatus.PENDING).count()
    context = {
        "nav": "people", "page": page, "rows": rows, "invitations": invitations, "pending_approvals": pending,
        "mail_problems": _mail_problems(actor.organisation),
    }
    return render(request, "web/organisation/people.html", context)


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@org_admin_only
def invite(request: HttpRequest) -> HttpResponse:
    """Inviting a person: a one-time link to their own address; the caseworker role waits for a second person."""
    actor = person(request)
    organisation = actor.organisation
    context: dict[str, Any] = {"nav": "people"}
    if request.method != "POST":
        return render(request, "web/organisation/invite.html", context | {"form": InviteForm(organisation=organisation)})
    form = InviteForm(request.POST, organisation=organisation, contract_context={"actor": actor})
    if form.is_valid():
        try:
            invitation = services.invitation_create(actor=actor, organisation=organisation, **form.validated)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            if invitation.awaiting_approval:
                messages.success(
                    request, _("The invitation waits for a second person's approval; it is mailed once approved.")
                )
            else:
                messages.success(request, _("The invitation was mailed. Its link works once, until it expires."))
            return redirect("web:people")
    return render(request, "web/organisation/invite.html", context | {"form": form}, status=422)


def _person_context(actor: User, colleague: User) -> dict[str, Any]:
    waiting = _approvals(actor).filter(user=colleague, status=ApprovalStatus.PENDING).first()
    return {
        "nav": "people",
        "colleague": colleague,
        "roles": role_labels(colleague.roles),
        "is_self": colleague.pk == actor.pk,
        "waiting": waiting,
        "waiting_roles": role_labels(waiting.roles) if waiting else "",
    }


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@org_admin_only
def person_page(request: HttpRequest, pk: UUID) -> HttpResponse:
    """A colleague: their account, a form to change their roles, and the actions on their account."""
    actor = person(request)
    colleague = _colleague(actor, pk)
    if request.method != "POST":
        context = _person_context(actor, colleague) | {"form": RolesForm(instance=colleague)}
        return render(request, "web/organisation/person.html", context)
    form = RolesForm(request.POST, instance=colleague, contract_context={"actor": actor})
    if form.is_valid():
        if not form.validated:
            messages.success(request, _("Nothing was changed."))
            return redirect("web:person", pk=colleague.pk)
        try:
            changed = services.user_update(actor=actor, user=colleague, data=form.validated)
        except DomainError as error:
            form.add_refusal(error)
        else:
            if sorted(changed.roles) != sorted(form.validated["roles"]):  # the caseworker role waits
                messages.success(request, _("The caseworker role waits for a second person's approval."))
            else:
                messages.success(request, _("The roles were changed. The person is signed out everywhere."))
            return redirect("web:person", pk=colleague.pk)
    context = _person_context(actor, colleague) | {"form": form}
    return render(request, "web/organisation/person.html", context, status=422)


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@org_admin_only
def person_deactivate(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Deactivating a colleague's account, after a confirmation: every login of theirs ends at once."""
    actor = person(request)
    colleague = _colleague(actor, pk)
    return _confirmation(
        request, "web/organisation/person_deactivate.html", _person_context(actor, colleague),
        act=lambda: services.user_update(actor=actor, user=colleague, data={"is_active": False}),
        done=_("The account is deactivated. The person is signed out everywhere."),
        then="web:person", pk=colleague.pk,
    )


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@org_admin_only
def person_reactivate(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Reactivating a deactivated account, after a confirmation."""
    actor = person(request)
    colleague = _colleague(actor, pk)
    return _confirmation(
        request, "web/organisation/person_reactivate.html", _person_context(actor, colleague),
        act=lambda: services.user_update(actor=actor, user=colleague, data={"is_active": True}),
        done=_("The account is active again."),
        then="web:person", pk=colleague.pk,
    )


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@org_admin_only
def person_password_reset(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Mailing a colleague a one-time link to choose a new password (never for oneself)."""
    actor = person(request)
    colleague = _colleague(actor, pk)
    return _confirmation(
        request, "web/organisation/person_password_reset.html", _person_context(actor, colleague),
        act=lambda: services.password_reset_send(actor=actor, user=colleague),
        done=_("A link to choose a new password was mailed to the person's own address."),
        then="web:person", pk=colleague.pk,
    )


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@org_admin_only
def person_totp_reset(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Removing a colleague's second factor (a lost phone): they set up a new one at their next sign-in."""
    actor = person(request)
    colleague = _colleague(actor, pk)
    return _confirmation(
        request, "web/organisation/person_totp_reset.html", _person_context(actor, colleague),
        act=lambda: services.user_reset_totp(actor=actor, user=colleague),
        done=_("The second factor was removed. The person is signed out and sets up a new one at their next sign-in."),
        then="web:person", pk=colleague.pk,
    )


def _invitation_context(actor: User, invitation: Invitation) -> dict[str, Any]:
    return {
        "nav": "people",
        "invitation": invitation,
        "roles": role_labels(invitation.roles),
        "status_label": INVITATION_STATUS_LABELS[invitation.status],
    }


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@org_admin_only
def invitation_resend(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Mailing an open or expired invitation again: a new link and expiry; the previous link stops working."""
    actor = person(request)
    invitation = scoped_or_404(_invitations(actor), pk)
    return _confirmation(
        request, "web/organisation/invitation_resend.html", _invitation_context(actor, invitation),
        act=lambda: services.invitation_resend(actor=actor, invitation=invitation),
        done=_("The invitation was mailed again with a new link; the previous link no longer works."),
        then="web:people",
    )


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@org_admin_only
def invitation_revoke(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Revoking an invitation not yet accepted: its link stops working at once."""
    actor = person(request)
    invitation = scoped_or_404(_invitations(actor), pk)
    return _confirmation(
        request, "web/organisation/invitation_revoke.html", _invitation_context(actor, invitation),
        act=lambda: services.invitation_revoke(actor=actor, invitation=invitation),
        done=_("The invitation is revoked: its link no longer works."),
        then="web:people",
    )


# --- approvals: a second person for whatever reaches identity ------------------------------------------


def _approval_row(actor: User, approval: AccessApproval) -> dict[str, Any]:
    """What a request is about, in words: whose role or which key, and whether ``actor`` may decide it."""
    if approval.api_key_id:
        subject = approval.api_key.name  # type: ignore[union-attr]  # set for this kind
    elif approval.invitation_id:
        subject = approval.invitation.username  # type: ignore[union-attr]  # set for invitations
    else:
        subject = approval.user.username  # type: ignore[union-attr]  # set for role changes
    return {
        "approval": approval,
        "subject": subject,
        "kind_label": approval.get_kind_display(),
        "status_label": APPROVAL_STATUS_LABELS[approval.status],
        "roles": role_labels(approval.roles),
        "may_decide": approval.status == ApprovalStatus.PENDING and services.may_decide(actor, approval),
    }


@signed_in
@require_safe
@org_admin_only
def approvals(request: HttpRequest) -> HttpResponse:
    """The organisation's requests that wait for (or were decided by) a second person, waiting ones first."""
    actor = person(request)
    ordered = _approvals(actor).select_related("decided_by").annotate(
        decided=Case(When(status=ApprovalStatus.PENDING, then=Value(0)), default=Value(1), output_field=IntegerField())
    ).order_by("decided", "-created_at")
    page = Paginator(ordered, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [_approval_row(actor, approval) for approval in page.object_list]
    return render(request, "web/organisation/approvals.html", {"nav": "people", "page": page, "rows": rows})


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@org_admin_only
def approval(request: HttpRequest, pk: UUID) -> HttpResponse:
    """One request: what it grants, and approve or refuse for whoever may decide it (``services.may_decide``)."""
    actor = person(request)
    current = scoped_or_404(_approvals(actor).select_related("decided_by"), pk)
    context = {"nav": "people", "scope_labels": _scope_labels(current)} | _approval_row(actor, current)
    if request.method != "POST":
        return render(request, "web/organisation/approval.html", context | {"form": DecisionForm()})
    form = DecisionForm(request.POST)
    if form.is_valid():
        approve = form.cleaned_data["decision"] == "approve"
        try:
            services.approval_decide(actor=actor, approval=current, approve=approve)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("The request is approved.") if approve else _("The request is refused."))
            return redirect("web:approval", pk=current.pk)
    return render(request, "web/organisation/approval.html", context | {"form": form}, status=422)


def _scope_labels(approval: AccessApproval) -> str:
    if not approval.api_key_id:
        return ""
    labels = dict(ApiKeyScope.choices)
    return ", ".join(str(labels.get(scope, scope)) for scope in approval.api_key.scopes)  # type: ignore[union-attr]


# --- the organisation: its directory profile and its settings -----------------------------------------------


def _organisation_context(organisation: Organisation) -> dict[str, Any]:
    return {
        "nav": "organisation",
        "organisation": organisation,
        "kind_label": OrganisationKind(organisation.kind).label,
        "membership_label": MembershipStatus(organisation.membership_status).label,
    }


def _change_organisation(
    request: HttpRequest, form_class: type[ProfileForm] | type[SettingsForm], template: str, done: str, then: str,
    extra: Callable[[Organisation], dict[str, Any]] | None = None,
) -> HttpResponse:
    actor = person(request)
    organisation = _organisation(actor)
    context = _organisation_context(organisation) | (extra(organisation) if extra else {})
    if request.method != "POST":
        return render(request, template, context | {"form": form_class(instance=organisation)})
    form = form_class(request.POST, instance=organisation, contract_context={"actor": actor})
    if form.is_valid():
        if not form.validated:
            messages.success(request, _("Nothing was changed."))
            return redirect(then)
        try:
            services.organisation_update(actor=actor, organisation=organisation, data=form.validated)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, done)
            return redirect(then)
    return render(request, template, context | {"form": form}, status=422)


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@org_admin_only
def profile(request: HttpRequest) -> HttpResponse:
    """The organisation's directory entry, as other members find it, and the form that changes it."""
    return _change_organisation(
        request, ProfileForm, "web/organisation/profile.html",
        _("The directory profile was changed."), "web:organisation",
    )


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@org_admin_only
def organisation_settings(request: HttpRequest) -> HttpResponse:
    """The organisation's settings: whether its caseworkers need a second factor, its on-call address; its mail problems."""
    return _change_organisation(
        request, SettingsForm, "web/organisation/settings.html",
        _("The settings were changed."), "web:organisation-settings",
        extra=lambda organisation: {"mail_problems": _mail_problems(organisation)},
    )


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@org_admin_only
def capacity(request: HttpRequest) -> HttpResponse:
    """The organisation's capacity in the directory: places available and waitlist per service, confirmed as of now."""
    actor = person(request)
    organisation = _organisation(actor)
    published = list(organisation.capacity.order_by("service"))
    context = _organisation_context(organisation) | {"stale_days": settings.CAPACITY_STALE_DAYS}
    if request.method != "POST":
        return render(request, "web/organisation/capacity.html", context | {"form": CapacityForm(capacity=published)})
    form = CapacityForm(request.POST, capacity=published, contract_context={"actor": actor})
    if form.is_valid():
        try:
            services.capacity_set(actor=actor, organisation=organisation, entries=form.validated["capacity"])
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("The capacity was published, as of now."))
            return redirect("web:organisation-capacity")
    return render(request, "web/organisation/capacity.html", context | {"form": form}, status=422)


# --- mail problems: the organisation's addresses whose notification mail failed for good -------------------

# What an outbox error (the class ``coalition.mail`` keeps) means, in words; any other: retried and given up.
MAIL_ERRORS = {"SMTPRecipientsRefused": gettext_lazy("the mail server refused the address")}
MAIL_GAVE_UP = gettext_lazy("could not be delivered after several attempts")


def _mail_problems(organisation: Organisation) -> list[dict[str, Any]]:
    """``coalition.notifications.selectors.mail_problems``, each with its error explained."""
    return [
        {"problem": problem, "explained": MAIL_ERRORS.get(problem.error, MAIL_GAVE_UP)}
        for problem in mail_problems(organisation)
    ]
