"""A URL conf for page tests: the project's own, plus stand-ins for web pages that are not built yet.

The web app's areas are built side by side; a page links to pages of other areas by their
agreed names (``web:case``, ``web:consent-record``, ``web:referral``). Until those exist, this URL conf adds a
stand-in under each missing name, at its agreed path, answering 200. Where the real page
exists it adds nothing, so a test using it (``pytest.mark.urls("tests.support.pending_pages")``)
runs against the real pages once they are there.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import URLResolver, include, path

from coalition import urls as project
from web import urls as web

# (route under /app/, name) of the pages the agreed URL names stand for.
AGREED_PAGES = [
    ("cases/<uuid:pk>/", "case"),
    ("cases/<uuid:pk>/consents/new/", "consent-record"),
    ("referrals/<uuid:pk>/", "referral"),
]


def _stand_in(request, **kwargs):
    return HttpResponse("a page another area of the web app builds")


_built = {pattern.name for pattern in web.urlpatterns}
_stand_ins = [path(route, _stand_in, name=name) for route, name in AGREED_PAGES if name not in _built]

urlpatterns = [
    path("app/", include((web.urlpatterns + _stand_ins, "web"))),
    *[p for p in project.urlpatterns if not (isinstance(p, URLResolver) and p.app_name == "web")],
]

handler400 = project.handler400
handler403 = project.handler403
handler404 = project.handler404
handler500 = project.handler500
