"""The published figures, as both front ends give them: the API's statistics and the web app's figures page.

``referral_figures``, ``timing_figures``, ``match_figures`` and ``consultation_figures`` read a
validated period (and dimensions) for an actor through the selectors, on the read replica when
one is configured, and answer the body the API serves; ``referral_figure_rows``,
``timing_figure_rows``, ``match_figure_rows`` and ``consultation_figure_rows`` are the lines of
its CSV download, and ``csv_bytes`` writes them. The API's views and the web app's pages
call these, so a figure, its suppression and its CSV are written once.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from django.conf import settings

from coalition.core.actors import Actor

from . import selectors
from .replica import statistics_reads


def min_cell() -> int:
    """The smallest count published: figures from 1 to ``min_cell() - 1`` are suppressed."""
    return settings.STATISTICS_MIN_CELL


def referral_figures(actor: Actor, query: dict[str, Any]) -> dict[str, Any]:
    """Counts of sent referrals for ``query`` (first_day, last_day, start, end, group_by, period)."""
    group_by = list(query.get("group_by") or [])
    period = query.get("period") or "month"
    with statistics_reads():  # the read replica, when one is configured
        statistics = selectors.referral_statistics(
            actor, start=query["start"], end=query["end"], group_by=group_by, period=period
        )
    return {
        "scope": selectors.statistics_scope(actor),
        "from": query["first_day"],
        "to": query["last_day"],
        "group_by": group_by,
        "period": period if "period" in group_by else None,
        "min_cell": min_cell(),
        "total": statistics.total.as_dict(),
        "margins": {d: [f.as_dict() for f in margin] for d, margin in statistics.margins.items()},
        "cells": [f.as_dict() for f in statistics.cells],
    }


def timing_figures(actor: Actor, query: dict[str, Any]) -> dict[str, Any]:
    """Median hours to the first answer and to acceptance by urgency, for the period of ``query``."""
    with statistics_reads():
        results = selectors.referral_timings(actor, start=query["start"], end=query["end"])
    return {
        "scope": selectors.statistics_scope(actor),
        "from": query["first_day"],
        "to": query["last_day"],
        "min_cell": min_cell(),
        "results": results,
    }


def match_figures(actor: Actor, query: dict[str, Any]) -> dict[str, Any]:
    """Matches found per organisation and month in the days of ``query``, by what became of them (coordinators).

    The days and months are the coalition's (``COALITION_TIME_ZONE``), not the server's.
    """
    with statistics_reads():
        organisations = selectors.match_statistics(actor, first_day=query["first_day"], last_day=query["last_day"])
    return {
        "from": query["first_day"],
        "to": query["last_day"],
        "min_cell": min_cell(),
        "organisations": organisations,
    }


def consultation_figures(actor: Actor, query: dict[str, Any]) -> dict[str, Any]:
    """Consultations asked in the days of ``query`` per phenomenon and ``period``, their answers and referrals.

    The days and periods are the coalition's (``COALITION_TIME_ZONE``), as for the match figures.
    """
    period = query.get("period") or "month"
    with statistics_reads():
        tables = selectors.consultation_statistics(
            actor, first_day=query["first_day"], last_day=query["last_day"], period=period
        )
    return {
        "scope": selectors.statistics_scope(actor),
        "from": query["first_day"],
        "to": query["last_day"],
        "period": period,
        "min_cell": min_cell(),
        **tables,
    }


def referral_figure_rows(data: dict[str, Any]) -> Iterator[list[Any]]:
    """One line per cell, then the subtotals and the total with ``all`` in the other columns."""
    dimensions = list(data["group_by"])
    yield [*dimensions, "count", "suppressed"]
    for cell in data["cells"]:
        yield [*(cell[d] for d in dimensions), cell["count"], cell["suppressed"]]
    for dimension, margin in data["margins"].items():
        for subtotal in margin:
            values = [subtotal[dimension] if d == dimension else "all" for d in dimensions]
            yield [*values, subtotal["count"], subtotal["suppressed"]]
    if dimensions:
        yield [*("all" for _ in dimensions), data["total"]["count"], data["total"]["suppressed"]]
    else:
        yield [data["total"]["count"], data["total"]["suppressed"]]


TIMING_MEASURES = ("acknowledge", "accept")


def timing_figure_rows(data: dict[str, Any]) -> Iterator[list[Any]]:
    yield ["urgency", "measure", "count", "median_hours", "suppressed"]
    for row in data["results"]:
        for measure in TIMING_MEASURES:
            timing = row[measure]
            yield [row["urgency"], measure, timing["count"], timing["median_hours"], timing["suppressed"]]


def match_figure_rows(data: dict[str, Any]) -> Iterator[list[Any]]:
    """One line per organisation, month and measure; the organisation's total over the period as month ``all``."""
    yield ["organisation", "organisation_name", "month", "measure", "count", "suppressed"]
    for figures in data["organisations"]:
        organisation = figures["organisation"]
        for row in [*figures["months"], figures["total"] | {"month": "all"}]:
            for measure in selectors.MATCH_MEASURES:
                figure = row[measure]
                yield [organisation["id"], organisation["name"], row["month"], measure, figure["count"], figure["suppressed"]]


def consultation_figure_rows(data: dict[str, Any]) -> Iterator[list[Any]]:
    """One line per phenomenon (``all`` first), period (``all``: the total) and measure, then the share referred.

    ``value`` is a count, or for ``referred_share`` a percentage; empty when suppressed.
    """
    yield ["phenomenon", "period", "measure", "value", "suppressed"]
    tables = [data["all_phenomena"] | {"phenomenon": selectors.ALL}, *data["phenomena"]]
    for table in tables:
        for row in [*table["periods"], table["total"] | {"period": selectors.ALL}]:
            for measure in selectors.CONSULTATION_MEASURES:
                figure = row[measure]
                yield [table["phenomenon"], row["period"], measure, figure["count"], figure["suppressed"]]
            share = row["referred_share"]
            yield [table["phenomenon"], row["period"], "referred_share", share, share is None]


def csv_file_name(kind: str, data: dict[str, Any]) -> str:
    """``referral-figures-2026-01-01-2026-12-31.csv``: what the figures are and their period, nothing else."""
    return f"{kind}-{data['from']}-{data['to']}.csv"


def csv_bytes(rows: Iterable[list[Any]]) -> bytes:
    """The CSV of ``rows`` in UTF-8; empty for None, booleans as true/false, no formula a spreadsheet would run."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if value is None else _safe(value) for value in row])
    return buffer.getvalue().encode("utf-8")


def _safe(value: Any) -> str:
    """Booleans as true/false; text that a spreadsheet would run as a formula is quoted with '."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
