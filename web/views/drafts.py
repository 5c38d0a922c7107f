"""Saving and discarding the signed-in person's own drafts of forms (``web.drafts``).

app.js posts a form's fields to ``draft-save`` while the person types; the form page's
"Discard" button posts to ``draft-discard``. Both act on the signed-in person's draft of
that key only: there is no way to name another person's draft.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from .. import drafts
from ..pages import person, signed_in


def _key_or_404(key: str) -> str:
    if not drafts.is_draft_key(key):
        raise Http404()
    return key


@signed_in
@require_POST
def draft_save(request: HttpRequest, key: str) -> HttpResponse:
    """Keep the posted fields as the person's draft of ``key``: 204, or 413 when larger than a form should be."""
    try:
        drafts.save_draft(person(request), _key_or_404(key), drafts.form_data(request.POST))
    except drafts.DraftTooLarge:
        return HttpResponse(status=413)
    return HttpResponse(status=204)


@signed_in
@require_POST
def draft_discard(request: HttpRequest, key: str) -> HttpResponse:
    """Delete the person's draft of ``key`` and go back to the form (``next``, on this site only)."""
    drafts.discard_draft(person(request), _key_or_404(key))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = "web:home"
    return redirect(back)
