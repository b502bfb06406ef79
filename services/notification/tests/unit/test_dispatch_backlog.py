"""A backlog is sent round after round in one timer tick, while the rounds come back full."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from notification.settings import settings_from_config

# The module (its name is also the function the package exports).
dispatching = importlib.import_module("notification.workflow.dispatch")


@pytest.fixture
def rounds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Each call of `dispatch` attempts the next count of this list."""
    planned: list[int] = []

    def fake_dispatch(*_args: Any) -> int:
        return planned.pop(0)

    monkeypatch.setattr(dispatching, "dispatch", fake_dispatch)
    return planned


def backlog(batch: int) -> int:
    settings = settings_from_config({"DISPATCH_BATCH": batch})
    return dispatching.dispatch_backlog(None, None, None, settings, None)  # type: ignore[arg-type]


def test_full_rounds_are_followed_by_another_until_one_is_not_full(rounds: list[int]) -> None:
    rounds.extend([5, 5, 5, 2, 5])
    assert backlog(batch=5) == 17
    assert rounds == [5]  # the round after the short one did not run


def test_an_empty_round_ends_the_tick(rounds: list[int]) -> None:
    rounds.extend([0, 5])
    assert backlog(batch=5) == 0
    assert rounds == [5]


def test_a_tick_hands_over_after_its_time(
    rounds: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = iter([0.0, 4.0, 8.0, 12.0, 16.0])
    monkeypatch.setattr(dispatching.time, "monotonic", lambda: next(clock))
    rounds.extend([5] * 10)
    assert backlog(batch=5) == 15  # 0 s start; after rounds at 4, 8, 12 s: past 10 s
    assert len(rounds) == 7
