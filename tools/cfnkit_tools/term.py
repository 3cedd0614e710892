"""Terminal output of the `cfnkit` command: colour and live progress on a terminal only.

Colour is used only when the stream is a terminal, TERM is not "dumb" and NO_COLOR is unset
or empty (https://no-color.org). A live status line (elapsed time, invocation, what the
function last did) is drawn only on a terminal; piped or redirected output gets plain
lines, so scripts and logs never see escape codes or carriage returns. rich renders the
styles and the live line; it is a dependency of the CLI, never of the layer.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.status import Status
from rich.text import Text

#: Styles by meaning, so every command colours the same things the same way.
STYLES = {
    "SUCCESS": "bold green",
    "FAILED": "bold red",
    "warning": "yellow",
    "error": "bold red",
    "note": "cyan",
    "dim": "dim",
    "heading": "bold",
}


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or exotic stream
        return False


def wants_colour(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return is_terminal(stream) and not env.get("NO_COLOR") and env.get("TERM") != "dumb"


class Term:
    """One output stream: plain lines, or styled ones on a colour terminal."""

    def __init__(self, stream: TextIO, environ: Mapping[str, str] | None = None) -> None:
        self.stream = stream
        self.tty = is_terminal(stream)
        self.colour = wants_colour(stream, environ)
        self.console = Console(
            file=stream,
            force_terminal=self.colour,
            no_color=not self.colour,
            color_system="auto" if self.colour else None,
            highlight=False,
            markup=False,
            emoji=False,
            soft_wrap=True,
        )
        self._status: Status | None = None

    def print(self, *parts: str | tuple[str, str]) -> None:
        """One line; a part is text, or (text, style name of STYLES or a rich style)."""
        if not self.colour:
            self.stream.write("".join(p if isinstance(p, str) else p[0] for p in parts) + "\n")
            self.stream.flush()
            return
        text = Text.assemble(*((p[0], STYLES.get(p[1], p[1])) if isinstance(p, tuple) else p for p in parts))
        self.console.print(text)

    def table(
        self,
        rows: Sequence[Sequence[str]],
        indent: str = "  ",
        header: bool = False,
        styles: Mapping[int, str] | None = None,
    ) -> None:
        """Rows with aligned columns (the last column is not padded, so a long value is not wrapped oddly).

        styles: column index -> a style for that column; "status" styles a cell by its first
        word (SUCCESS green, FAILED red), and a cell marked "(!)" (not what was expected) red.
        """
        if not rows:
            return
        widths = [max(len(row[i]) for row in rows if i < len(row)) for i in range(max(len(r) for r in rows))]
        for number, row in enumerate(rows):
            parts: list[str | tuple[str, str]] = [indent]
            for i, cell in enumerate(row):
                text = cell if i == len(row) - 1 else cell.ljust(widths[i]) + "  "
                style = "heading" if header and number == 0 else _cell_style((styles or {}).get(i), cell)
                parts.append((text, style) if style else text)
            self.print(*parts)

    # -- live progress (terminal only) -------------------------------------------------

    @contextmanager
    def live(self, text: str) -> Iterator[None]:
        """A spinner line updated with status(); nothing at all when not on a terminal."""
        if not self.tty:
            yield
            return
        with self.console.status(text, spinner="dots") as status:
            self._status = status
            try:
                yield
            finally:
                self._status = None

    def status(self, text: str) -> None:
        if self._status is not None:
            self._status.update(text)


def _cell_style(style: str | None, cell: str) -> str | None:
    if style == "status":
        if "(!)" in cell:  # an outcome other than the expected one
            return "error"
        return STYLES.get(cell.split(" ", 1)[0]) if cell else None
    return style
