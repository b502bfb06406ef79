"""The agency registry as a DependencyProvider, loaded once from the agencies file."""

from __future__ import annotations

import json
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
