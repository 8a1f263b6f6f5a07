"""File-name and folder date cases from PhotoPrism, Google Photos Takeout Helper,
phockup and ente (facts only; see tests/support/name_cases.py for where each
group comes from and what a pass means). bench/names.py prints the pass rate."""
from __future__ import annotations

import pytest

from tests.support.name_cases import CASES, answer, decide_path, judge

AGREED = [c for c in CASES if not c.disagree]
DISAGREED = [c for c in CASES if c.disagree]


@pytest.mark.parametrize("case", AGREED, ids=[c.path for c in AGREED])
def test_we_meet_the_other_projects_expectation(case):
    d = decide_path(case.path)
    assert judge(case, d), f"{case.project}: expected {case.expected}, got {answer(d)} [{d.confidence.value}]"


@pytest.mark.parametrize("case", DISAGREED, ids=[c.path for c in DISAGREED])
def test_a_deliberate_disagreement_still_gives_our_documented_answer(case):
    d = decide_path(case.path)
    assert not judge(case, d)
    assert answer(d) == case.ours


def test_the_cases_cover_the_four_projects_and_the_rate_meets_the_goal():
    assert len(CASES) >= 70
    assert len({c.project for c in CASES}) == 4
    assert sum(judge(c, decide_path(c.path)) for c in CASES) / len(CASES) >= 0.95
