"""bench/report.update_readme rewrites only the text between the README's bench markers."""

from __future__ import annotations

from pathlib import Path

from bench.report import MARK_END, MARK_START, update_readme


def test_only_the_text_between_the_markers_is_replaced(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nintro\n{MARK_START}\nold table\n{MARK_END}\n\nclosing note\n")

    assert update_readme(readme, "| new | table |\n")

    assert readme.read_text() == f"# Title\n\nintro\n{MARK_START}\n| new | table |\n{MARK_END}\n\nclosing note\n"


def test_a_readme_without_markers_is_left_untouched(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n\nno markers here\n")

    assert not update_readme(readme, "| new | table |\n")

    assert readme.read_text() == "# Title\n\nno markers here\n"


def test_markers_in_the_wrong_order_leave_the_readme_untouched(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    text = f"{MARK_END}\nmiddle\n{MARK_START}\n"
    readme.write_text(text)

    assert not update_readme(readme, "x")

    assert readme.read_text() == text
