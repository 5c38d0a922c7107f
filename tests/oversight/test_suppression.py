"""Small-count suppression on its own: primary, secondary, and the invariant on random tables."""

import itertools
import random

from coalition.oversight.suppression import Line, suppress


def test_a_count_of_exactly_the_threshold_is_shown_and_one_less_is_hidden():
    assert suppress([5, 4], [], threshold=5) == [False, True]


def test_zero_is_not_a_small_count():
    assert suppress([0], [], threshold=5) == [False]


def test_one_hidden_cell_in_a_line_hides_the_next_smallest_shown_cell():
    # cells 20, 7, 3 and their total 30: hiding only the 3 would leave 30 - 20 - 7 = 3
    hidden = suppress([20, 7, 3, 30], [Line(total=3, parts=(0, 1, 2))], threshold=5)
    assert hidden == [False, True, True, False]


def test_two_hidden_cells_that_add_up_below_the_threshold_hide_a_third():
    # 1 + 1 = 2 hidden: the total would give both away as ones
    hidden = suppress([9, 6, 1, 1, 17], [Line(total=4, parts=(0, 1, 2, 3))], threshold=5)
    assert hidden == [False, True, True, True, False]


def test_a_line_whose_only_part_is_hidden_hides_its_total():
    # a cell hidden for another line (8) is also a subtotal's only part: the subtotal goes too
    counts = [8, 2, 8, 2, 10]  # cells a=8, b=2; subtotal of a = 8, of b = 2; total 10
    lines = [Line(total=2, parts=(0,)), Line(total=3, parts=(1,)), Line(total=4, parts=(0, 1)), Line(total=4, parts=(2, 3))]
    hidden = suppress(counts, lines, threshold=5)
    assert hidden == [True, True, True, True, False]


def test_a_threshold_of_one_hides_nothing():
    assert suppress([1, 2, 3, 6], [Line(total=3, parts=(0, 1, 2))], threshold=1) == [False] * 4


def test_a_hidden_total_needs_no_protection_of_its_parts():
    assert suppress([1, 2, 3], [Line(total=2, parts=(0, 1))], threshold=5) == [True, True, True]


def _table_lines(rows: int, columns: int):
    """Cells of a rows × columns table, its row and column subtotals, and the grand total."""
    cell = lambda r, c: r * columns + c  # noqa: E731
    row_total = lambda r: rows * columns + r  # noqa: E731
    column_total = lambda c: rows * columns + rows + c  # noqa: E731
    grand = rows * columns + rows + columns
    lines = [Line(row_total(r), tuple(cell(r, c) for c in range(columns))) for r in range(rows)]
    lines += [Line(column_total(c), tuple(cell(r, c) for r in range(rows))) for c in range(columns)]
    lines += [Line(grand, tuple(cell(r, c) for r, c in itertools.product(range(rows), range(columns))))]
    lines += [Line(grand, tuple(row_total(r) for r in range(rows)))]
    lines += [Line(grand, tuple(column_total(c) for c in range(columns)))]
    return lines, grand


def test_on_random_tables_no_published_line_gives_away_a_hidden_figure():
    generator = random.Random(20260101)
    for _ in range(300):
        rows, columns, threshold = generator.randint(1, 4), generator.randint(1, 4), generator.choice([3, 5, 10])
        cells = [generator.choice([0, 1, 2, 3, 4, 5, 6, 9, 15, 40]) for _ in range(rows * columns)]
        row_totals = [sum(cells[r * columns:(r + 1) * columns]) for r in range(rows)]
        column_totals = [sum(cells[c::columns]) for c in range(columns)]
        counts = cells + row_totals + column_totals + [sum(cells)]
        lines, _grand = _table_lines(rows, columns)
        hidden = suppress(counts, lines, threshold)
        for index, count in enumerate(counts):
            if 0 < count < threshold:
                assert hidden[index], (counts, index)
        for line in lines:
            if hidden[line.total]:
                continue
            hidden_parts = [index for index in line.parts if hidden[index]]
            assert len(hidden_parts) != 1, (counts, line)
            if hidden_parts:
                assert sum(counts[index] for index in hidden_parts) >= threshold, (counts, line)
