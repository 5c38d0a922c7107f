"""Content negotiation for the few views that offer a ``?format=`` query parameter.

DRF's URL format override (``?format=``) is off for the whole API
(``URL_FORMAT_OVERRIDE: None``): on every other endpoint it used to answer an
undocumented 404 for an unknown format. The statistics endpoints document
``?format=json|csv`` beside ``Accept: text/csv`` and opt in with this class.
"""

from __future__ import annotations

from types import SimpleNamespace

from rest_framework.negotiation import DefaultContentNegotiation


class FormatParameterNegotiation(DefaultContentNegotiation):
    """``Accept`` negotiation, narrowed first by a ``?format=`` parameter when one is given."""

    settings = SimpleNamespace(URL_FORMAT_OVERRIDE="format")
