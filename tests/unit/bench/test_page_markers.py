"""bench/report rewrites only the text between the docs benchmarks page's markers, and the page is current."""

from __future__ import annotations

import json
from pathlib import Path

from bench.report import MARK_END, MARK_START, PAGE, RESULTS, tables, update_page

ROOT = Path(__file__).resolve().parents[3]


def test_only_the_text_between_the_markers_is_replaced(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    page.write_text(f"# Title\n\nintro\n{MARK_START}\nold table\n{MARK_END}\n\nclosing note\n")

    assert update_page(page, "| new | table |\n")

    assert page.read_text() == f"# Title\n\nintro\n{MARK_START}\n| new | table |\n{MARK_END}\n\nclosing note\n"


def test_a_page_without_markers_is_left_untouched(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    page.write_text("# Title\n\nno markers here\n")

    assert not update_page(page, "| new | table |\n")

    assert page.read_text() == "# Title\n\nno markers here\n"


def test_markers_in_the_wrong_order_leave_the_page_untouched(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    text = f"{MARK_END}\nmiddle\n{MARK_START}\n"
    page.write_text(text)

    assert not update_page(page, "x")

    assert page.read_text() == text


def test_the_tables_target_the_docs_benchmarks_page_not_the_readme() -> None:
    assert PAGE == ROOT / "docs" / "benchmarks.md"
    assert MARK_START in PAGE.read_text()
    assert MARK_START not in (ROOT / "README.md").read_text()


def test_the_committed_page_holds_what_render_makes_of_the_committed_results(tmp_path: Path) -> None:
    """`bench/run.py --render` would change nothing: the page's tables are the committed results."""
    results = json.loads((RESULTS / "latest.json").read_text())
    results.pop("cfnkit_slower", None)
    copy = tmp_path / "benchmarks.md"
    copy.write_text(PAGE.read_text())

    assert update_page(copy, tables(results))

    assert copy.read_text() == PAGE.read_text(), "docs/benchmarks.md is stale: run bench/run.py --render"


def test_the_page_charts_the_report_delay_of_every_run_and_the_cold_starts() -> None:
    results = json.loads((RESULTS / "latest.json").read_text())
    results.pop("cfnkit_slower", None)
    short = results["report_delay"]["short"]

    markdown = tables(results)

    assert markdown.count("```mermaid\nxychart-beta\n") == 2
    delay = markdown[markdown.index('title "Report delay per run') :]
    bars = delay[delay.index("    bar [") + 9 :].split("]")[0].split(", ")
    line = delay[delay.index("    line [") + 10 :].split("]")[0].split(", ")
    assert len(bars) == len(line) == sum(1 for r in short if r["who"] == "cfnkit")
    cfnkit = sorted((r for r in short if r["who"] == "cfnkit"), key=lambda r: r["offset"])
    assert [float(v) for v in line] == [round(r["delay"], 2) for r in cfnkit]


def test_a_chart_scales_its_axis_to_the_largest_value() -> None:
    from bench.report import chart

    assert chart("T", ["a", "b"], "s", [1.0, 2.0], [3.0, 0.5]) == [
        "```mermaid",
        "xychart-beta",
        '    title "T"',
        '    x-axis ["a", "b"]',
        '    y-axis "s" 0 --> 3.30',
        "    bar [1.00, 2.00]",
        "    line [3.00, 0.50]",
        "```",
        "",
    ]
