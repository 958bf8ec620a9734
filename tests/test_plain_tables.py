"""Plain-text tables (``sync.tables``): what a pipe receives from every listing command."""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from sync.tables import plain_table, print_table

_cell = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="[]"),
                max_size=40).map(lambda t: " ".join(t.split()))


@given(st.integers(1, 6).flatmap(lambda n: st.tuples(
    st.lists(_cell.filter(bool), min_size=n, max_size=n),
    st.lists(st.lists(_cell, min_size=n, max_size=n), max_size=8),
)))
def test_every_row_is_one_line_with_every_cell_whole_and_aligned(table: tuple[list[str], list[list[str]]]) -> None:
    columns, rows = table
    lines = plain_table("title", columns, rows).split("\n")
    assert lines[0] == "title" and len(lines) == 2 + len(rows)
    widths = [max([len(name), *(len(r[i]) for r in rows)]) for i, name in enumerate(columns)]
    starts = [sum(widths[:i]) + 2 * i for i in range(len(columns))]
    for line, cells in zip(lines[1:], [columns, *rows], strict=True):
        for start, cell in zip(starts, cells, strict=True):
            assert line[start:start + len(cell)] == cell


def test_markup_is_reduced_to_its_text_and_nothing_wraps_at_80_columns() -> None:
    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=False)
    long_reason = "Zendesk refused the comment: 422 RecordInvalid " * 3
    print_table(console, "2 dead letter(s)", ["id", "since", "reason"],
                [["outbox:123456789", "2026-12-03T11:53:57+00:00", long_reason.strip()],
                 ["inbox:5", "2026-12-03T11:53:58+00:00", "[bold red]3[/]"]])
    lines = out.getvalue().splitlines()
    assert len(lines) == 4 and max(len(line) for line in lines) > 80
    assert lines[2].startswith("outbox:123456789  2026-12-03T11:53:57+00:00  Zendesk refused")
    assert lines[3].rstrip().endswith("  3") and "\x1b" not in out.getvalue()


def test_a_terminal_gets_a_rich_table() -> None:
    out = io.StringIO()
    print_table(Console(file=out, width=80, force_terminal=True), None, ["id"], [["outbox:1"]])
    assert "outbox:1" in out.getvalue() and "─" in out.getvalue()
