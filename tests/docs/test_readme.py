"""README.md is the short front door: the two commands, and links that lead into the docs site."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()

INSTALL_AND_DEMO = "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/cfnkit demo"
TESTS = ".venv/bin/python -m pytest"


def test_the_readme_stays_short() -> None:
    assert len(README.splitlines()) <= 250


def test_the_two_commands_are_there_as_ci_runs_them() -> None:
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.S)

    assert [b.strip() for b in blocks[:2]] == [INSTALL_AND_DEMO, TESTS]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install --quiet -e '.[dev]'" in ci
    assert ".venv/bin/python -m pytest" in ci


def test_every_relative_link_names_an_existing_file() -> None:
    links = [target for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README) if "://" not in target]

    assert links, "the README links into the docs"
    assert [link for link in links if not (ROOT / link).is_file()] == []


def test_every_page_of_the_site_is_linked_from_the_readme() -> None:
    nav_pages = re.findall(r":\s+(\S+\.md)\s*$", (ROOT / "mkdocs.yml").read_text(), flags=re.M)
    linked = set(re.findall(r"\]\((docs/[^)#]+)", README))

    assert nav_pages
    assert {f"docs/{p}" for p in nav_pages if p != "index.md"} <= linked
