"""Small-count suppression of published figures (statistical disclosure control).

The rule it keeps: no published figure lets a reader learn a count between 1 and
``threshold - 1``, neither directly nor by subtracting the shown figures of a line
from its published total.

- Primary suppression: a figure of 1 .. threshold-1 is hidden. Zero is not a small
  count: combinations that do not occur are simply not listed.
- Secondary suppression: for every published total and the figures that add up to
  it (a *line*), either nothing is hidden, or at least two figures are hidden and
  together hold at least ``threshold``; otherwise the next smallest shown figure of the line is hidden
  too (the total itself only when nothing else is left). A hidden total whose parts
  are all shown is their sum, so one of them is hidden too. Hiding one figure can
  break another line, so this repeats until every line holds.

With a total of 12 over 7, 3 and 2, hiding only the 3 and the 2 leaves 12 - 7 = 5:
the reader knows the two hidden cells add up to 5 but not how, which is the
protection asked for. Hiding only the 2 would give it away at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    """A published total (an index into the figures) and the figures that add up to it."""

    total: int
    parts: tuple[int, ...]


def suppress(counts: Sequence[int], lines: Sequence[Line], threshold: int) -> list[bool]:
    """Which of ``counts`` to hide: primary suppression, then secondary until every line is safe."""
    hidden = [0 < count < threshold for count in counts]
    changed = True
    while changed:
        changed = False
        for line in lines:
            if not line.parts:
                continue
            hidden_parts = [index for index in line.parts if hidden[index]]
            if hidden[line.total]:
                # A hidden total whose parts are all shown is their sum: as good as shown, it would
                # give away whatever it was hidden for in the lines it is a part of.
                if not hidden_parts:
                    hidden[min(line.parts, key=lambda index: (counts[index], index))] = True
                    changed = True
                continue
            if not hidden_parts:
                continue
            # One hidden part is the total minus the shown ones, whatever its size: a cell
            # hidden to protect another line would be given away here, and that line with it.
            if len(hidden_parts) >= 2 and sum(counts[index] for index in hidden_parts) >= threshold:
                continue
            shown = [index for index in line.parts if not hidden[index]]
            if shown:
                # The smallest shown part loses the least information; ties by position, so
                # the same data always gives the same answer.
                hidden[min(shown, key=lambda index: (counts[index], index))] = True
            else:
                hidden[line.total] = True
            changed = True
    return hidden
