"""Figures as pictures: referral counts and median times, drawn on the server, with their tables and CSV.

The figures are the API's (``coalition.oversight.figures``: the same selectors, the same
small-count suppression, the same CSV); this page picks a period and up to two dimensions,
draws each series as an SVG bar chart (``web.charts``) and gives the same figures as a
table, the chart's text alternative. A suppressed figure is marked "hidden" in both, and the
page says why. Coordinators see the whole coalition; caseworkers and org admins their
organisation's referrals (sent or received); the auditor's work is the trail, not figures.

Coordinators also see the matches per member and month over the same period (the API's
``/statistics/matches/``, suppressed over each member's table on its own), so that a member
probing for identities stands out; nobody else sees them or may download them.

Everyone who reads figures also sees the consultations over the same period, in the periods
the form picks (the API's ``/statistics/consultations/``): per phenomenon, and for all
together, how many were asked, the members asked and their answers, and how many became a
referral; members count their own organisation's, as for the referrals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_safe

from coalition.oversight import figures
from partners.choices import Phenomenon, Role
from partners.models import User
from partners.selectors import organisations_visible_to
from referrals.choices import Gender, ReferralOutcome, ReferralStatus, Urgency
from referrals.matches import matching_enabled

from ..charts import BarChart, bar_chart
from ..figure_forms import DIMENSION_LABELS, FiguresForm
from ..pages import person, role_required, signed_in

figures_readers = role_required(Role.CASEWORKER, Role.ORG_ADMIN, Role.COORDINATOR)



@dataclass(frozen=True)
class CsvKind:
    """One CSV download of the page: the API's figures, their CSV lines, and who may have them."""

    file_name: str  # as the API names its CSV
    figures: Callable[[User, dict[str, Any]], dict[str, Any]]
    rows: Callable[[dict[str, Any]], Iterator[list[Any]]]
    coordinators_only: bool = False


CSV_KINDS = {
    "referrals": CsvKind("referral-figures", figures.referral_figures, figures.referral_figure_rows),
    "timings": CsvKind("referral-timings", figures.timing_figures, figures.timing_figure_rows),
    "matches": CsvKind("match-figures", figures.match_figures, figures.match_figure_rows, coordinators_only=True),
    "consultations": CsvKind("consultation-figures", figures.consultation_figures, figures.consultation_figure_rows),
}


@signed_in
@require_safe
@figures_readers
def figures_page(request: HttpRequest) -> HttpResponse:
    actor = person(request)
    form = FiguresForm(request.GET)
    context: dict[str, Any] = {"nav": "figures", "form": form, "scope": _scope(actor)}
    if form.is_valid() and form.query is not None:
        counts = figures.referral_figures(actor, form.query)
        timings = figures.timing_figures(actor, form.query)
        labels = _Labels(actor, counts)
        query = _query_string(request.GET)
        context |= {
            "counts": counts,
            "timings": timings,
            "min_cell": counts["min_cell"],
            "dimensions": [DIMENSION_LABELS[d] for d in counts["group_by"]],
            "charts": _count_charts(counts, labels),
            "table": _count_table(counts, labels),
            "timing_charts": _timing_charts(timings),
            "timing_rows": _timing_rows(timings),
            "any_hidden": _any_hidden(counts, timings),
            "csv_url": f"{reverse('web:figures-csv', args=['referrals'])}{query}",
            "timings_csv_url": f"{reverse('web:figures-csv', args=['timings'])}{query}",
        }
        if _sees_matches(actor):
            context["matches"] = _match_section(figures.match_figures(actor, form.query), query)
        context["consultations"] = _consultation_section(actor, figures.consultation_figures(actor, form.query), query)
    return render(request, "web/figures/page.html", context)


@signed_in
@require_safe
@figures_readers
def figures_csv(request: HttpRequest, kind: str) -> HttpResponse:
    """The figures of the page's query as the API's CSV (``?format=csv``), as a download (the matches: coordinators)."""
    actor = person(request)
    download = CSV_KINDS[kind]
    if download.coordinators_only and not _sees_matches(actor):
        raise PermissionDenied()  # as the API's 403: the role decides, before the query is read
    form = FiguresForm(request.GET)
    if not form.is_valid() or form.query is None:
        return render(request, "web/figures/page.html", {"nav": "figures", "form": form, "scope": _scope(actor)},
                      status=422)
    data = download.figures(actor, form.query)
    response = HttpResponse(figures.csv_bytes(download.rows(data)), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{figures.csv_file_name(download.file_name, data)}"'
    response["Cache-Control"] = "no-store"
    return response


def _scope(actor: User) -> str:
    if actor.has_role(Role.COORDINATOR):
        return _("All referrals sent between members of the coalition.")
    return _("The referrals your organisation sent or received.")


def _sees_matches(actor: User) -> bool:
    """Match figures are the coordinators' guard against probing; members read their own matches, not these."""
    return actor.has_role(Role.COORDINATOR)


def _query_string(query: QueryDict) -> str:
    kept = QueryDict(mutable=True)
    for name in FiguresForm.base_fields:
        value = query.get(name)
        if isinstance(value, str) and value:
            kept[name] = value
    encoded = kept.urlencode()
    return f"?{encoded}" if encoded else ""


class _Labels:
    """The words for each dimension's codes, in the person's language; organisations by name."""

    def __init__(self, actor: User, counts: dict[str, Any]):
        self.names: dict[str, str] = {}
        if "organisation" in counts["group_by"]:
            ids = {cell["organisation"] for cell in counts["cells"]} - {"unknown"}
            visible = organisations_visible_to(actor).filter(pk__in=ids).values_list("pk", "name")
            self.names = {str(pk): name for pk, name in visible}

    def __call__(self, dimension: str, code: str) -> str:
        if code == "unknown":
            return _("Unknown")
        if dimension == "phenomenon":
            return _choice(Phenomenon, code)
        if dimension == "gender":
            return _choice(Gender, code)
        if dimension == "outcome":
            return _choice(ReferralOutcome, code) if code in ReferralOutcome.values else _choice(ReferralStatus, code)
        if dimension == "organisation":
            return self.names.get(code, _("An organisation no longer listed"))
        return code  # periods (2026-03, 2026-Q1, 2026) and age bands (12-14) read as they are


def _choice(choices, code: str) -> str:
    try:
        return str(choices(code).label)
    except ValueError:
        return code


def _count_text(figure: dict[str, Any]) -> str:
    return _("hidden") if figure["suppressed"] else number_format(figure["count"])


def _ordered(dimension: str, codes, labels: _Labels) -> list[str]:
    """Periods in time order, age bands from young to old, everything else by its label."""
    codes = list(dict.fromkeys(codes))
    if dimension in ("period", "age_band"):
        return sorted(codes, key=lambda code: (code == "unknown", code))
    return sorted(codes, key=lambda code: (code == "unknown", labels(dimension, code).lower()))


def _count_charts(counts: dict[str, Any], labels: _Labels) -> list[BarChart]:
    """One chart for one dimension; for two, one chart of the first for each value of the second."""
    by, *then = counts["group_by"]
    cells = counts["cells"]
    if not then:
        title = _("Referrals by %(dimension)s") % {"dimension": str(DIMENSION_LABELS[by]).lower()}
        items = [(labels(by, c[by]), c["count"], _count_text(c)) for c in _sorted_cells(cells, by, labels)]
        return [bar_chart("counts", title, _chart_description(counts), items)]
    second = then[0]
    charts = []
    for index, value in enumerate(_ordered(second, (c[second] for c in cells), labels)):
        part = [c for c in cells if c[second] == value]
        title = _("Referrals by %(dimension)s — %(dimension_2)s: %(value)s") % {
            "dimension": str(DIMENSION_LABELS[by]).lower(),
            "dimension_2": str(DIMENSION_LABELS[second]).lower(),
            "value": labels(second, value),
        }
        items = [(labels(by, c[by]), c["count"], _count_text(c)) for c in _sorted_cells(part, by, labels)]
        charts.append(bar_chart(f"counts-{index}", title, _chart_description(counts), items))
    return charts


def _sorted_cells(cells: list[dict[str, Any]], dimension: str, labels: _Labels) -> list[dict[str, Any]]:
    order = {code: position for position, code in enumerate(_ordered(dimension, (c[dimension] for c in cells), labels))}
    return sorted(cells, key=lambda cell: order[cell[dimension]])


def _chart_description(counts: dict[str, Any]) -> str:
    return _(
        "Number of referrals sent from %(start)s to %(end)s. Figures below %(min_cell)s are hidden; "
        "the table below gives every figure."
    ) % {"start": counts["from"], "end": counts["to"], "min_cell": counts["min_cell"]}


def _count_table(counts: dict[str, Any], labels: _Labels) -> dict[str, Any]:
    """The table alternative: one row per value of the first dimension; with two, one column per value of the second."""
    by, *then = counts["group_by"]
    cells = counts["cells"]
    total = _count_text(counts["total"])
    row_codes = _ordered(by, (c[by] for c in cells), labels)
    if not then:
        rows = [{"label": labels(by, c[by]), "cells": [_count_text(c)], "hidden": [c["suppressed"]]}
                for c in _sorted_cells(cells, by, labels)]
        return {"columns": [_("Referrals")], "rows": rows, "total": [total], "total_hidden": [counts["total"]["suppressed"]],
                "row_header": DIMENSION_LABELS[by]}
    second = then[0]
    column_codes = _ordered(second, (c[second] for c in cells), labels)
    found = {(c[by], c[second]): c for c in cells}
    margin_by = {m[by]: m for m in counts["margins"].get(by, [])}
    margin_second = {m[second]: m for m in counts["margins"].get(second, [])}
    zero = {"count": 0, "suppressed": False}
    rows = []
    for code in row_codes:
        figures_of_row = [found.get((code, column), zero) for column in column_codes] + [margin_by.get(code, zero)]
        rows.append({"label": labels(by, code), "cells": [_count_text(f) for f in figures_of_row],
                     "hidden": [f["suppressed"] for f in figures_of_row]})
    totals = [margin_second.get(column, zero) for column in column_codes] + [counts["total"]]
    return {
        "columns": [labels(second, column) for column in column_codes] + [_("All")],
        "rows": rows,
        "total": [_count_text(f) for f in totals],
        "total_hidden": [f["suppressed"] for f in totals],
        "row_header": DIMENSION_LABELS[by],
        "column_header": DIMENSION_LABELS[second],
    }


MEASURE_TITLES = {
    "acknowledge": gettext_lazy("Median hours from sending to the first answer, by urgency"),
    "accept": gettext_lazy("Median hours from sending to acceptance, by urgency"),
}


def _hours_text(timing: dict[str, Any]) -> str:
    if timing["suppressed"]:
        return _("hidden")
    if not timing["count"]:
        return _("no referrals")
    return _("%(hours)s h") % {"hours": number_format(timing["median_hours"], decimal_pos=1)}


def _timing_charts(timings: dict[str, Any]) -> list[BarChart]:
    description = _(
        "Median hours, from %(start)s to %(end)s. A median over fewer than %(min_cell)s referrals is hidden; "
        "the table below gives every figure."
    ) % {"start": timings["from"], "end": timings["to"], "min_cell": timings["min_cell"]}
    charts = []
    for measure, title in MEASURE_TITLES.items():
        items = []
        for row in timings["results"]:
            timing = row[measure]
            value = None if timing["suppressed"] else (timing["median_hours"] or 0)
            items.append((str(Urgency(row["urgency"]).label), value, _hours_text(timing)))
        charts.append(bar_chart(f"timings-{measure}", str(title), description, items))
    return charts


def _timing_rows(timings: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for row in timings["results"]:
        cells = []
        for measure in MEASURE_TITLES:
            timing = row[measure]
            count = _("hidden") if timing["suppressed"] else number_format(timing["count"])
            cells += [(count, timing["suppressed"]), (_hours_text(timing), timing["suppressed"])]
        rows.append({"label": Urgency(row["urgency"]).label, "cells": cells})
    return rows


def _any_hidden(counts: dict[str, Any], timings: dict[str, Any]) -> bool:
    figures_shown = [counts["total"], *counts["cells"], *(m for margin in counts["margins"].values() for m in margin)]
    timed = [row[measure] for row in timings["results"] for measure in MEASURE_TITLES]
    return any(f["suppressed"] for f in figures_shown + timed)


# Counts of matches (the match pages' "Found" and "Answered" are times): a context of their own.
MATCH_MEASURES = {
    "found": pgettext_lazy("match figures", "Found"),
    "answered": pgettext_lazy("match figures", "Answered"),
    "waiting": pgettext_lazy("match figures", "Waiting"),
    "unattended": pgettext_lazy("match figures", "Unattended"),
}


def _match_section(data: dict[str, Any], query: str) -> dict[str, Any]:
    """The match figures as one table: a group of rows per member (its months, then its total), a column per measure.

    The figures and their suppression are the API's (``figures.match_figures``); this only
    writes them as the page writes every figure, a suppressed one as "hidden".
    """

    def cells(row: dict[str, Any]) -> list[tuple[str, bool]]:
        return [(_count_text(row[measure]), row[measure]["suppressed"]) for measure in MATCH_MEASURES]

    members = [
        {
            "name": member["organisation"]["name"],
            "months": [{"label": month["month"], "cells": cells(month)} for month in member["months"]],
            "total": cells(member["total"]),
        }
        for member in data["organisations"]
    ]
    return {
        "from": data["from"],
        "to": data["to"],
        "min_cell": data["min_cell"],
        "measures": list(MATCH_MEASURES.values()),
        "members": members,
        "any_hidden": any(hidden for member in members for row in [*member["months"], {"cells": member["total"]}]
                          for _text, hidden in row["cells"]),
        "enabled": matching_enabled(),
        "csv_url": f"{reverse('web:figures-csv', args=['matches'])}{query}",
    }


# The consultation figures' measures: counts, in a context of their own (the consultation pages' words are states).
CONSULTATION_MEASURES = {
    "consultations": pgettext_lazy("consultation figures", "Asked"),
    "requests": pgettext_lazy("consultation figures", "Members asked"),
    "yes": pgettext_lazy("consultation figures", "Yes"),
    "no": pgettext_lazy("consultation figures", "No"),
    "waitlist": pgettext_lazy("consultation figures", "Waiting list"),
    "unanswered": pgettext_lazy("consultation figures", "Unanswered"),
    "referred": pgettext_lazy("consultation figures", "Referred"),
}


def _share_text(share: float | None) -> str:
    return _("hidden") if share is None else _("%(share)s %%") % {"share": number_format(share, decimal_pos=1)}


def _consultation_section(actor: User, data: dict[str, Any], query: str) -> dict[str, Any]:
    """The consultation figures as one table for all phenomena, then one per phenomenon: its periods, then its total.

    The figures, their suppression and the shares are the API's (``figures.consultation_figures``);
    this only writes them as the page writes every figure, a suppressed one as "hidden".
    """

    def cells(row: dict[str, Any]) -> list[tuple[str, bool]]:
        counted = [(_count_text(row[measure]), row[measure]["suppressed"]) for measure in CONSULTATION_MEASURES]
        share = row["referred_share"]
        return [*counted, (_share_text(share), share is None)]

    def table(caption: str, figures_of: dict[str, Any]) -> dict[str, Any]:
        return {
            "caption": caption,
            "periods": [{"label": row["period"], "cells": cells(row)} for row in figures_of["periods"]],
            "total": cells(figures_of["total"]),
        }

    phenomena = sorted(
        (table(_choice(Phenomenon, figures_of["phenomenon"]), figures_of) for figures_of in data["phenomena"]),
        key=lambda item: item["caption"].lower(),
    )
    tables = [table(_("All phenomena"), data["all_phenomena"]), *phenomena] if data["phenomena"] else []
    return {
        "from": data["from"],
        "to": data["to"],
        "min_cell": data["min_cell"],
        "scope": (_("All consultations asked between members of the coalition.") if actor.has_role(Role.COORDINATOR)
                  else _("The consultations your organisation asked, and your own answers to those it was asked.")),
        "measures": [*CONSULTATION_MEASURES.values(), pgettext_lazy("consultation figures", "Share referred")],
        "tables": tables,
        "any_hidden": any(hidden for item in tables for row in [*item["periods"], {"cells": item["total"]}]
                          for _text, hidden in row["cells"]),
        "csv_url": f"{reverse('web:figures-csv', args=['consultations'])}{query}",
    }
