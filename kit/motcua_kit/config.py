"""Reading settings from the nameko config (itself filled from environment variables)."""

from __future__ import annotations

from typing import Any


def setting(config: dict[str, Any], key: str, default: Any = None) -> Any:
    """A config value, treating an empty string (an unset `${VAR:}`) as missing."""
    value = config.get(key, default)
    return default if value in ("", None) else value


def required(config: dict[str, Any], key: str) -> Any:
    value = setting(config, key)
    if value is None:
        raise RuntimeError(f"setting {key} is required; see docs/configuration.md")
    return value
