"""Terminal output: aligned tables everywhere, colour and live lines only on a terminal."""

from __future__ import annotations

import io

from cfnkit_tools.term import Term

ROWS = [
    ("step", "request", "got", "reason"),
    ("1", "Secrets Create", "SUCCESS", "-"),
    ("2", "MigrateTask Update", "SUCCESS (!)", "a long reason that is never padded"),
]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_table_is_aligned_and_plain_off_a_terminal() -> None:
    out = io.StringIO()

    Term(out, {}).table(ROWS, header=True, styles={2: "status"})

    assert out.getvalue() == (
        "  step  request             got          reason\n"
        "  1     Secrets Create      SUCCESS      -\n"
        "  2     MigrateTask Update  SUCCESS (!)  a long reason that is never padded\n"
    )


def test_on_a_terminal_outcomes_are_coloured_and_the_unexpected_one_red() -> None:
    out = Terminal()

    Term(out, {"TERM": "xterm"}).table(ROWS, styles={2: "status"})

    text = out.getvalue()
    assert "\x1b[1;32mSUCCESS      \x1b[0m-" in text  # green
    assert "\x1b[1;31mSUCCESS (!)  \x1b[0m" in text  # not what was expected: red


def test_no_color_keeps_a_terminal_plain() -> None:
    out = Terminal()

    Term(out, {"TERM": "xterm", "NO_COLOR": "1"}).print(("FAILED", "FAILED"), " done")

    assert out.getvalue() == "FAILED done\n"


def test_the_live_line_draws_nothing_off_a_terminal() -> None:
    out = io.StringIO()
    term = Term(out, {})

    with term.live("waiting"):
        term.status("still waiting")

    assert out.getvalue() == ""


def test_the_live_line_shows_its_latest_status_on_a_terminal() -> None:
    out = Terminal()
    term = Term(out, {"TERM": "xterm"})

    with term.live("waiting"):
        term.status("12.0 s  invocation 2  task 0123abcd started; waiting")

    assert "12.0 s  invocation 2  task 0123abcd started; waiting" in out.getvalue()
