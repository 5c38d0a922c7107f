"""One scoping choke point (API1, BOLA): tenant data is only ever read through ``ScopedViewSet``.

The base viewset takes its queryset from a selector given the actor and refuses, when a
subclass is created, any override that could read past it; subclasses narrow through
named hooks. Every view the URL conf reaches is either such a viewset or named below,
with the reason it holds no tenant queryset of its own.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import ClassVar

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework import mixins
from rest_framework.generics import GenericAPIView

from coalition.api.views import ScopedViewSet, VersionedViewSet
from partners.models import Organisation
from partners.selectors import organisations_visible_to
from tests.support.routes import drf_view_classes

# Views outside ScopedViewSet, each with why it is not a tenant-data viewset. None of them
# is a generic view (no queryset of its own); those that read tenant data call selectors
# that take the actor.
NOT_SCOPED_VIEWSETS = {
    # Probes and API documentation: no tenant data.
    "coalition.api.health.HealthzView": "liveness probe",
    "coalition.api.health.ReadyzView": "readiness probe: the database answers, nothing read",
    "drf_spectacular.views.SpectacularAPIView": "the OpenAPI schema",
    "coalition.api.docs_views.SwaggerView": "API documentation page (drf-spectacular's, under the strict CSP)",
    "coalition.api.docs_views.RedocView": "API documentation page (drf-spectacular's, under the strict CSP)",
    # Authentication: the credential in the body or the caller's own login.
    "partners.api.views.TokenObtainView": "login",
    "partners.api.views.TokenRefreshView": "token rotation",
    "partners.api.views.InvitationAcceptView": "accepting an invitation with its mailed token",
    "partners.api.views.PasswordResetCompleteView": "completing a password reset with its mailed token",
    "partners.api.views.LogoutView": "ends the caller's own login",
    "partners.api.views.TotpEnrolView": "the caller's own second factor",
    "partners.api.views.TotpConfirmView": "the caller's own second factor",
    "partners.api.views.MeView": "the caller themselves",
    "partners.api.views.PasswordChangeView": "the caller's own password",
    "coalition.notifications.api.views.NotificationPreferencesView": "the caller's own notification preferences",
    "partners.api.views.VocabulariesView": "code lists, the same for everyone",
    # Reads of tenant data that are not a list of objects: through selectors taking the actor.
    "coalition.oversight.api.views.ReferralStatisticsView": "counts, through oversight.selectors.referral_statistics(actor)",
    "coalition.oversight.api.views.TimingStatisticsView": "medians, through oversight.selectors.referral_timings(actor)",
    "coalition.oversight.api.views.MatchStatisticsView": "counts, through oversight.selectors.match_statistics(actor)",
    "coalition.oversight.api.views.ConsultationStatisticsView": "counts, through oversight.selectors.consultation_statistics(actor)",
    "coalition.events.api.views.EventFeedView": "the feed, through events.selectors.events_after(actor)",
    "coalition.audit.api.views.AuditVerifyView": "the hash chain's verdict (auditors only): no entry is shown",
}


def _dotted(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def test_every_view_in_the_url_conf_is_a_scoped_viewset_or_named_as_holding_no_tenant_queryset():
    classes = {_dotted(cls): cls for cls in drf_view_classes()}
    unscoped = {name for name, cls in classes.items() if not issubclass(cls, ScopedViewSet)}
    assert unscoped - NOT_SCOPED_VIEWSETS.keys() == set(), "tenant-data views must derive from ScopedViewSet"
    assert NOT_SCOPED_VIEWSETS.keys() - classes.keys() == set(), "the list names views the URL conf no longer serves"
    generic = {name for name in NOT_SCOPED_VIEWSETS if issubclass(classes[name], GenericAPIView)}
    assert generic == set(), "a generic view reads its own queryset: make it a ScopedViewSet"


def test_every_scoped_viewset_in_the_url_conf_names_a_selector_and_a_model():
    for cls in drf_view_classes():
        if issubclass(cls, ScopedViewSet):
            assert callable(cls.selector), _dotted(cls)
            assert cls.queryset_model is not None, _dotted(cls)


@pytest.mark.parametrize(
    ("method", "hook"),
    [
        ("get_queryset", "narrow_queryset(self, queryset)"),
        ("get_object", "check_object(self, obj)"),
        ("filter_queryset", "filtered_actions"),
    ],
)
def test_a_scoped_viewset_that_overrides_a_kept_method_is_refused_when_its_class_is_created(method, hook):
    with pytest.raises(ImproperlyConfigured) as refused:
        type("Bypassing", (mixins.ListModelMixin, ScopedViewSet), {method: lambda self, *args: None})
    assert f"overrides {method}()" in str(refused.value)
    assert hook in str(refused.value)


def test_the_override_is_refused_at_any_depth_and_from_a_mixin_listed_first():
    class Unscoped:
        def get_queryset(self):
            return Organisation.objects.all()

    with pytest.raises(ImproperlyConfigured, match="overrides get_queryset"):
        class FromAMixin(Unscoped, ScopedViewSet):
            selector = staticmethod(organisations_visible_to)

    with pytest.raises(ImproperlyConfigured, match="overrides get_object"):
        class Deeper(VersionedViewSet):
            def get_object(self):
                return None


def test_a_scoped_viewset_may_not_name_a_queryset_of_its_own():
    with pytest.raises(ImproperlyConfigured, match="sets queryset"):
        class WithQueryset(ScopedViewSet):
            queryset = Organisation.objects.all()


class _Recording:
    """A filter backend that notes each queryset it is asked to filter."""

    seen: ClassVar[list[str]] = []

    def filter_queryset(self, request, queryset, view):
        _Recording.seen.append(view.action)
        return queryset


class _Narrowing(mixins.ListModelMixin, ScopedViewSet):
    selector = staticmethod(organisations_visible_to)
    queryset_model = Organisation
    filter_backends: ClassVar = [_Recording]
    filtered_actions = frozenset({"list", "summary"})

    def narrow_queryset(self, queryset):
        return queryset.only("id") if self.action == "list" else queryset


def _view(action: str) -> _Narrowing:
    view = _Narrowing()
    view.request, view.action = SimpleNamespace(user=SimpleNamespace()), action
    return view


def test_narrow_queryset_narrows_the_selectors_queryset_per_action():
    assert _view("list").get_queryset().query.deferred_loading == ({"id"}, False)
    assert _view("retrieve").get_queryset().query.deferred_loading == (frozenset(), True)


def test_the_list_filters_apply_to_the_filtered_actions_only():
    _Recording.seen = []
    for action in ("list", "summary", "retrieve", "suspend"):
        view = _view(action)
        view.filter_queryset(view.get_queryset())
    assert _Recording.seen == ["list", "summary"]
