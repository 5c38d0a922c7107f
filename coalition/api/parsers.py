"""Request body parsers: JSON only, and never so deep that parsing or reading it costs a 500."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 32


def json_depth_exceeds(data: Any, limit: int) -> bool:
    """Whether arrays and objects nest deeper than ``limit``; iterative, so any depth is safe to check."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


class DepthLimitedJSONParser(JSONParser):
    """DRF's JSON parser, refusing nesting deeper than ``MAX_JSON_DEPTH`` with a 400 problem.

    Python's parser recurses: a body of a few hundred kilobytes of ``[`` (under the size
    limit) raised RecursionError, a 500; a shallower but still deep one reached the
    serializers, the idempotency digest and the logs. No request of the API nests deeper
    than a handful of levels.
    """

    max_depth = MAX_JSON_DEPTH

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(self._too_deep()) from None
        if json_depth_exceeds(data, self.max_depth):
            raise ParseError(self._too_deep())
        return data

    def _too_deep(self) -> str:
        return _("JSON parse error - nested deeper than %(depth)d levels.") % {"depth": self.max_depth}
