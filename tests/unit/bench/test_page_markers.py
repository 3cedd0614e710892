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
