"""routing's DependencyProviders: the agency registry and the deadline policy, loaded once."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from motcua_kit.config import setting
from nameko.extensions import DependencyProvider

from routing.domain.agencies import Registry, registry_from_data

DEFAULT_FILE = Path(__file__).parent / "data" / "agencies.json"


class Agencies(DependencyProvider):
    """`AGENCIES_FILE` (default: the seeded data file); operators edit it and restart."""

    def setup(self) -> None:
        path = Path(setting(self.container.config, "AGENCIES_FILE") or DEFAULT_FILE)
        self.registry = registry_from_data(json.loads(path.read_text(encoding="utf-8")))

    def get_dependency(self, worker_ctx: Any) -> Registry:
        return self.registry


@dataclass(frozen=True)
class Policy:
    """When routing reminds and warns about a step's deadline (docs/configuration.md).

    * ``reminder_before``: office time before the due instant for `step.reminder` (0: none).
    * ``risk_threshold``: lateness risk (0..1] from which `step.at_risk` is raised.
    * ``risk_check_every``: wall time between two risk checks of a held step (0: no checks).
    """

    reminder_before: timedelta = timedelta(hours=4)  # half a working day of office time
    risk_threshold: float = 0.7
    risk_check_every: timedelta = timedelta(minutes=30)


def policy_from_config(config: Mapping[str, Any]) -> Policy:
    """`STEP_REMINDER_HOURS`, `RISK_THRESHOLD`, `RISK_CHECK_MINUTES`; unset: the defaults.

    A value that is not a number, or out of range, raises ValueError naming the setting.
    """
    default = Policy()
    hours = _number(config, "STEP_REMINDER_HOURS", default.reminder_before / timedelta(hours=1))
    threshold = _number(config, "RISK_THRESHOLD", default.risk_threshold)
    minutes = _number(config, "RISK_CHECK_MINUTES", default.risk_check_every / timedelta(minutes=1))
    if hours < 0:
        raise ValueError(f"STEP_REMINDER_HOURS must be >= 0 (office hours), got {hours}")
    if not 0 < threshold <= 1:
        raise ValueError(f"RISK_THRESHOLD must be in (0, 1], got {threshold}")
    if minutes < 0:
        raise ValueError(f"RISK_CHECK_MINUTES must be >= 0, got {minutes}")
    return Policy(timedelta(hours=hours), threshold, timedelta(minutes=minutes))


def _number(config: Mapping[str, Any], key: str, default: float) -> float:
    raw = setting(dict(config), key, default)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{key} must be a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{key} must be a finite number, got {raw!r}")
    return value


class DeadlinePolicy(DependencyProvider):
    """The `Policy`, read from the config when the container starts (a bad value stops it)."""

    def setup(self) -> None:
        self.policy = policy_from_config(self.container.config)

    def get_dependency(self, worker_ctx: Any) -> Policy:
        return self.policy
