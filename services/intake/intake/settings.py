"""intake's own settings: the lookup key and limits, and the checks made before it starts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from motcua_kit.config import setting

from intake.domain.lookup import Pins

DEV_PIN_KEY = "motcua-dev-pin-key-change-me"  # noqa: S105  (development default only)


def pins_from_config(config: dict[str, Any]) -> Pins:
    """The lookup key and limits. Production never falls back to the development key (and
    `python -m motcua_kit.run` refuses to start without a real one, docs/configuration.md)."""
    key = setting(config, "LOOKUP_PIN_KEY")
    if key is None and setting(config, "MOTCUA_ENV") == "production":
        raise RuntimeError("LOOKUP_PIN_KEY is required in production")
    return Pins(
        str(key or DEV_PIN_KEY).encode(),
        max_failures=int(setting(config, "LOOKUP_MAX_FAILURES", 10)),
        max_failures_per_dossier=int(setting(config, "LOOKUP_MAX_FAILURES_PER_DOSSIER", 10)),
        window=timedelta(minutes=float(setting(config, "LOOKUP_WINDOW_MINUTES", 15))),
    )


def check_config(config: dict[str, Any]) -> list[str]:
    """What `python -m motcua_kit.run` reports before starting intake (production rules are the
    kit's, motcua_kit.production)."""
    problems = []
    for key in ("LOOKUP_MAX_FAILURES", "LOOKUP_MAX_FAILURES_PER_DOSSIER"):
        value = str(setting(config, key, 10))
        if not value.isdigit() or int(value) < 1:
            problems.append(f"intake: {key} must be a whole number of at least 1, not {value!r}")
    window = str(setting(config, "LOOKUP_WINDOW_MINUTES", 15))
    try:
        if not 0 < float(window) <= 1440:
            raise ValueError
    except ValueError:
        problems.append(
            f"intake: LOOKUP_WINDOW_MINUTES must be minutes in (0, 1440], not {window!r}"
        )
    return problems
