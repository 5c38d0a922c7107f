"""Forms of the match pages: the list's filters and one side's answer.

The filters take codes only (a status, "past due"), so nothing that identifies anyone goes
into the list's address. The answer carries the match's version when the page was drawn:
an answer given meanwhile (by the other side, or a colleague) is refused, never overwritten;
which answers may be given is ``referrals.matches.match_act``'s to decide.
"""

from __future__ import annotations

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from referrals.choices import MatchStatus
from referrals.match_selectors import unattended
from referrals.models import Match


class MatchFilterForm(forms.Form):
    """The list's filters: a status, and only the open matches nobody answered in time."""

    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("Any status")), *MatchStatus.choices])
    unattended = forms.BooleanField(
        label=_("Unattended only"), required=False,
        help_text=_("Open matches past their due date: nobody said they got in touch."),
    )

    def filtered(self, queryset: QuerySet[Match]) -> QuerySet[Match]:
        """``queryset`` (the actor's matches) narrowed by the form's values; nothing while the form has errors."""
        if not self.is_valid():
            return queryset.none()
        if self.cleaned_data["status"]:
            queryset = queryset.filter(status=self.cleaned_data["status"])
        if self.cleaned_data["unattended"]:
            queryset = unattended(queryset, timezone.now())
        return queryset


class MatchAnswerForm(forms.Form):
    """One side's answer: ``version`` is the match's version the person saw (the API's If-Match)."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
