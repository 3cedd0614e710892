"""tools/mutation.py: how a score is counted, and the reviewed list of equivalent mutants."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def load_mutation() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutation_tool", ROOT / "tools" / "mutation.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


def test_a_score_counts_timeouts_as_killed_and_unchecked_mutants_as_survivors() -> None:
    mutation = load_mutation()
    score = mutation.Score(
        "sender",
        {"m_1": "killed", "m_2": "timeout", "m_3": "survived", "m_4": "not checked", "m_5": "no tests"},
    )
    assert (score.killed, score.total) == (2, 5)
    assert score.survivors() == ["m_3", "m_4", "m_5"]


def test_an_equivalent_entry_whose_mutant_no_longer_survives_is_stale() -> None:
    mutation = load_mutation()
    score = mutation.Score("logs", {"cfnkit.logs.x_a__mutmut_1": "survived", "cfnkit.logs.x_a__mutmut_2": "killed"})
    listed = {
        "cfnkit.logs.x_a__mutmut_1": "still survives",
        "cfnkit.logs.x_a__mutmut_2": "killed since",
        "cfnkit.logs.x_a__mutmut_9": "renumbered away",
        "cfnkit.sender.x_b__mutmut_1": "another module's",
    }
    assert score.stale(listed) == ["cfnkit.logs.x_a__mutmut_2", "cfnkit.logs.x_a__mutmut_9"]


def test_every_equivalent_mutant_names_a_measured_module_and_gives_a_one_line_reason() -> None:
    mutation = load_mutation()
    equivalent = mutation.equivalent_mutants()
    assert equivalent, "tests/mutation/equivalent.toml lists no mutant"
    name = re.compile(rf"^cfnkit\.({'|'.join(mutation.MODULES)})\.x[^.\s]+__mutmut_[1-9][0-9]*$")
    for mutant, reason in equivalent.items():
        assert name.match(mutant), f"not a mutmut name of a measured module: {mutant}"
        assert reason.strip(), f"{mutant}: no reason given"
        assert "\n" not in reason, f"{mutant}: the reason is one line"
