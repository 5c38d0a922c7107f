"""The org admin's integrations: the organisation's API keys and webhook endpoints.

The same reads and writes as the API's ``/api-keys/`` and ``/webhooks/``
(``partners.api.views.ApiKeyViewSet``, ``coalition.events.api.views.WebhookEndpointViewSet``):
keys through ``partners.selectors.api_keys_visible_to`` and ``partners.services``,
endpoints and their delivery logs through ``coalition.events.selectors`` and
``coalition.events.services``. Every page is for org admins (anyone else: 403) and
reaches only their own organisation's keys and endpoints (anyone else's: 404).

A secret (the API key, an endpoint's signing secret) exists only in the service's return
value: it is shown on the answer page of the POST that made it (200, ``Cache-Control:
no-store``) and nowhere else, never in the session, a message or a URL. Reloading the
list never shows it; a lost secret is replaced (a new key, a rotated secret).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from coalition.core.errors import DomainError
from coalition.events import selectors as event_selectors
from coalition.events import services as event_services
from coalition.events.models import DeliveryStatus, WebhookEndpoint
from partners import services as partner_services
from partners.choices import ApiKeyScope, Role
from partners.models import ApiKey, User
from partners.selectors import api_keys_visible_to

from ..errors import add_domain_error
from ..integration_forms import ApiKeyForm, WebhookCreateForm, WebhookEditForm
from ..pages import person, role_required, scoped_or_404, signed_in

PAGE_SIZE = 25
DELIVERIES_PAGE_SIZE = 20
# Deliveries a person may send again from the log: those that gave up or were never sent.
REDELIVERABLE = frozenset({DeliveryStatus.FAILED, DeliveryStatus.DISABLED})

# The integration pages are for org admins: anyone else signed in gets the 403 page.
org_admin_only = role_required(Role.ORG_ADMIN)


def _shown_once(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    """The answer page that shows a secret: once, never kept by the browser or a proxy."""
    response = render(request, template, context)
    response["Cache-Control"] = "no-store"
    return response


def _refusal(error: DomainError) -> forms.Form:
    """An empty form carrying ``error`` as its form-level message (for confirmation pages)."""
    form = forms.Form({})
    form.is_valid()
    add_domain_error(form, error)
    return form


# --- API keys ---------------------------------------------------------------------------------------


def _key_state(key: ApiKey, now) -> str:
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= now:
        return "expired"
    if key.awaiting_approval:
        return "awaiting_approval"
    return "active"


def _scope_labels(scopes: list[str]) -> list[dict[str, str]]:
    labels = dict(ApiKeyScope.choices)
    return [{"code": scope, "label": str(labels.get(scope, scope))} for scope in scopes]


def _key_row(key: ApiKey, now) -> dict[str, Any]:
    return {"key": key, "state": _key_state(key, now), "scopes": _scope_labels(key.scopes)}


@signed_in
@require_safe
@org_admin_only
def api_key_list(request: HttpRequest) -> HttpResponse:
    """The organisation's keys, newest first: name, prefix (never the key), scopes, dates, state."""
    actor = person(request)
    keys = api_keys_visible_to(actor).order_by("-created_at", "-pk")
    page = Paginator(keys, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    rows = [_key_row(key, now) for key in page.object_list]
    return render(request, "web/integrations/api_keys.html", {"nav": "api-keys", "page": page, "rows": rows})


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@org_admin_only
def api_key_new(request: HttpRequest) -> HttpResponse:
    """Creating a key; its answer page shows the key once (a referrals scope waits for a second person)."""
    actor = person(request)
    context: dict[str, Any] = {"nav": "api-keys"}
    if request.method != "POST":
        return render(request, "web/integrations/api_key_new.html", context | {"form": ApiKeyForm()})
    form = ApiKeyForm(request.POST)
    if form.is_valid():
        try:
            created = partner_services.api_key_create(actor=actor, **form.validated)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            key = created.api_key
            return _shown_once(request, "web/integrations/api_key_created.html", context | {
                "key": key, "raw_key": created.raw_key, "scopes": _scope_labels(key.scopes),
            })
    return render(request, "web/integrations/api_key_new.html", context | {"form": form}, status=422)


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@org_admin_only
def api_key_revoke(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Revoking a key after a confirmation: its next request is refused; it stays listed."""
    actor = person(request)
    key = scoped_or_404(api_keys_visible_to(actor), pk)
    context: dict[str, Any] = {"nav": "api-keys", "row": _key_row(key, timezone.now()), "errors": []}
    if request.method != "POST":
        return render(request, "web/integrations/api_key_revoke.html", context)
    try:
        partner_services.api_key_revoke(actor=actor, api_key=key)
    except DomainError as error:
        context["errors"] = _refusal(error).non_field_errors()
        return render(request, "web/integrations/api_key_revoke.html", context, status=422)
    messages.success(request, _("The API key \"%(name)s\" is revoked.") % {"name": key.name})
    return redirect("web:api-keys")


# --- webhook endpoints ------------------------------------------------------------------------------


def _status_label(status: str | None) -> str:
    return str(DeliveryStatus(status).label) if status else ""


@signed_in
@require_safe
@org_admin_only
def webhook_list(request: HttpRequest) -> HttpResponse:
    """The organisation's endpoints, newest first: URL, event types, active, the newest delivery's outcome."""
    actor = person(request)
    endpoints = event_selectors.with_last_delivery(
        event_selectors.webhook_endpoints_visible_to(actor).order_by("-created_at", "-pk")
    )
    page = Paginator(endpoints, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {"endpoint": endpoint, "last_status_label": _status_label(getattr(endpoint, "last_delivery_status", None))}
        for endpoint in page.object_list
    ]
    return render(request, "web/integrations/webhooks.html", {"nav": "webhooks", "page": page, "rows": rows})


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@org_admin_only
def webhook_new(request: HttpRequest) -> HttpResponse:
    """Registering an endpoint; its answer page shows the signing secret once."""
    actor = person(request)
    context: dict[str, Any] = {"nav": "webhooks"}
    if request.method != "POST":
        return render(request, "web/integrations/webhook_new.html", context | {"form": WebhookCreateForm()})
    form = WebhookCreateForm(request.POST)
    if form.is_valid():
        try:
            created = event_services.webhook_create(actor=actor, **form.validated)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            return _shown_once(request, "web/integrations/webhook_secret.html", context | {
                "endpoint": created.endpoint, "secret": created.secret, "rotated": False,
            })
    return render(request, "web/integrations/webhook_new.html", context | {"form": form}, status=422)


def _endpoint(actor: User, pk: UUID) -> WebhookEndpoint:
    return scoped_or_404(event_selectors.webhook_endpoints_visible_to(actor), pk)


def _last(attempts) -> Any:
    attempts = list(attempts)
    return attempts[-1] if attempts else None


def _webhook_page(
    request: HttpRequest, endpoint: WebhookEndpoint, *, form: WebhookEditForm | None = None,
    redeliver_errors: Any = None, status: int = 200,
) -> HttpResponse:
    """The endpoint's page: the edit form, the delivery log (a page of it) with its redeliver buttons."""
    deliveries = event_selectors.deliveries_of(endpoint).order_by("-created_at", "-id")
    page = Paginator(deliveries, DELIVERIES_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "delivery": delivery,
            "status_label": _status_label(delivery.status),
            "last_attempt": _last(delivery.attempt_log.all()),  # prefetched by deliveries_of: no query
            "redeliverable": endpoint.active and delivery.status in REDELIVERABLE,
        }
        for delivery in page.object_list
    ]
    context = {
        "nav": "webhooks",
        "endpoint": endpoint,
        "form": form or WebhookEditForm(initial=WebhookEditForm.initial_for(endpoint)),
        "page": page,
        "rows": rows,
        "redeliver_errors": redeliver_errors,
    }
    return render(request, "web/integrations/webhook.html", context, status=status)


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@org_admin_only
def webhook(request: HttpRequest, pk: UUID) -> HttpResponse:
    """An endpoint: change its event types, description or whether it is active; its delivery log."""
    actor = person(request)
    endpoint = _endpoint(actor, pk)
    if request.method != "POST":
        return _webhook_page(request, endpoint)
    form = WebhookEditForm(request.POST, initial=WebhookEditForm.initial_for(endpoint))
    if form.is_valid():
        try:
            event_services.webhook_update(actor=actor, endpoint=endpoint, data=form.validated)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("The endpoint was changed."))
            return redirect("web:webhook", pk=endpoint.pk)
    return _webhook_page(request, endpoint, form=form, status=422)


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@org_admin_only
def webhook_rotate(request: HttpRequest, pk: UUID) -> HttpResponse:
    """A new signing secret after a confirmation, shown once; the old one signs alongside it for a while."""
    actor = person(request)
    endpoint = _endpoint(actor, pk)
    context: dict[str, Any] = {"nav": "webhooks", "endpoint": endpoint, "errors": []}
    if request.method != "POST":
        return render(request, "web/integrations/webhook_rotate.html", context)
    try:
        rotated = event_services.webhook_rotate_secret(actor=actor, endpoint=endpoint)
    except DomainError as error:
        context["errors"] = _refusal(error).non_field_errors()
        return render(request, "web/integrations/webhook_rotate.html", context, status=422)
    return _shown_once(request, "web/integrations/webhook_secret.html", context | {
        "endpoint": rotated.endpoint, "secret": rotated.secret, "rotated": True,
    })


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@org_admin_only
def webhook_delete(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Removing an endpoint with its delivery log, after a confirmation; pending deliveries are dropped."""
    actor = person(request)
    endpoint = _endpoint(actor, pk)
    context: dict[str, Any] = {"nav": "webhooks", "endpoint": endpoint, "errors": []}
    if request.method != "POST":
        return render(request, "web/integrations/webhook_delete.html", context)
    try:
        event_services.webhook_delete(actor=actor, endpoint=endpoint)
    except DomainError as error:
        context["errors"] = _refusal(error).non_field_errors()
        return render(request, "web/integrations/webhook_delete.html", context, status=422)
    messages.success(request, _("The endpoint was deleted."))
    return redirect("web:webhooks")


@signed_in
@require_POST
@org_admin_only
def webhook_redeliver(request: HttpRequest, pk: UUID, delivery_id: UUID) -> HttpResponse:
    """Send one delivery of the log again now (the same ``webhook-id``, so a receiver can skip a repeat)."""
    actor = person(request)
    endpoint = _endpoint(actor, pk)
    delivery = scoped_or_404(event_selectors.deliveries_of(endpoint), delivery_id)
    try:
        event_services.webhook_redeliver(actor=actor, delivery=delivery)
    except DomainError as error:
        return _webhook_page(request, endpoint, redeliver_errors=_refusal(error).non_field_errors(), status=422)
    messages.success(request, _("The delivery is queued to be sent again."))
    return redirect("web:webhook", pk=endpoint.pk)
