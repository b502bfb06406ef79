"""Reading settings from the nameko config (itself filled from environment variables).

Any setting can come from a file instead: `<NAME>_FILE=/run/secrets/x` (Docker and Kubernetes
secrets) sets `<NAME>` to that file's content, trailing newline removed, for every variable
NAME a service's config.yml reads. `python -m motcua_kit.run` applies it before anything reads
the configuration (`secrets_from_files`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, MutableMapping
from pathlib import Path
from typing import Any

# `${NAME}` or `${NAME:default}` in a nameko config file.
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}")


_SETTING = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*):\s*\$\{([A-Za-z_][A-Za-z0-9_]*)", re.MULTILINE)


def setting_variables(config_text: str) -> dict[str, str]:
    """Top-level setting → the environment variable it is read from (`KEY: ${VAR:...}`)."""
    return dict(_SETTING.findall(config_text))


def referenced_variables(config_text: str) -> list[str]:
    """The environment variables a config file reads, in order, once each."""
    return list(dict.fromkeys(_REFERENCE.findall(config_text)))


def secrets_from_files(names: Iterable[str], environ: MutableMapping[str, str]) -> list[str]:
    """For each NAME with NAME_FILE in `environ`, set NAME to the file's content. Returns the
    problems (both given, unreadable file), one line each, naming the variable."""
    problems = []
    for name in names:
        path = environ.get(f"{name}_FILE")
        if not path:
            continue
        if environ.get(name):
            problems.append(f"{name} and {name}_FILE are both set: keep one")
            continue
        try:
            environ[name] = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{name}_FILE names {path!r}, which cannot be read ({exc})")
    return problems


def setting(config: dict[str, Any], key: str, default: Any = None) -> Any:
    """A config value, treating an empty string (an unset `${VAR:}`) as missing."""
    value = config.get(key, default)
    return default if value in ("", None) else value


def required(config: dict[str, Any], key: str) -> Any:
    value = setting(config, key)
    if value is None:
        raise RuntimeError(f"setting {key} is required; see docs/configuration.md")
    return value
