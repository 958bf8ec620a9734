"""Tables that read well in a terminal and stay parseable in a pipe.

On a terminal a table is a rich table, fitted to the window.  Anywhere else (a pipe, a file, a CI log) it
is plain text: a title line, a header line and one line per row, columns separated by two spaces and
padded to their widest cell, never wrapped — so ids and dates stay whole at any width, ``grep`` and
``cut`` work, and there is no ANSI code or box-drawing character.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["ResultConsole", "plain_table", "print_table"]


class ResultConsole(Console):
    """A console for a command's result whose reader may go away (``casesync status | head -1``).

    rich answers a closed pipe with ``SystemExit(1)``; this one raises :class:`BrokenPipeError`, which the
    CLI turns into a quiet end with exit 0 — the reader has what it asked for.
    """

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError("the reader of standard output went away")


def plain_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """The plain-text rendering (rich markup in cells, such as ``[red]3[/]``, reduced to its text)."""
    cells = [[_plain(c) for c in row] for row in rows]
    widths = [max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(columns)]
    lines = [] if title is None else [title]
    for row in [list(columns), *cells]:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def print_table(
    console: Console,
    title: str | None,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    right_aligned: Sequence[str] = (),
) -> None:
    """Print a table on ``console``: rich on a terminal, :func:`plain_table` elsewhere."""
    if not console.is_terminal:
        console.out(plain_table(title, columns, rows), highlight=False)
        return
    table = Table(title=title, title_justify="left")
    for name in columns:
        table.add_column(name, justify="right" if name in right_aligned else "left", overflow="fold")
    for row in rows:
        table.add_row(*row)
    console.print(table)


def _plain(cell: str) -> str:
    return " ".join(Text.from_markup(cell).plain.split())
