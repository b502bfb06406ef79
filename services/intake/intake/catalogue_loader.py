"""Load the procedure catalogue file into intake's database.

    python -m intake.catalogue_loader --database-url ... [services/intake/intake/data/procedures.json]

New (code, version) pairs are inserted; an existing pair must be identical, since a dossier may
already refer to it: change a procedure by adding a version with a later valid_from.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

DEFAULT_FILE = Path(__file__).parent / "data" / "procedures.json"


class CatalogueConflict(Exception):
    pass


def load(url: str, path: Path = DEFAULT_FILE) -> tuple[int, int]:
    """Returns (inserted, unchanged)."""
    entries: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["procedures"]
    inserted = unchanged = 0
    with psycopg.connect(url) as conn:
        for entry in entries:
            key = (entry["code"], int(entry["version"]))
            row = conn.execute(
                "SELECT entry FROM procedures WHERE code = %s AND version = %s", key
            ).fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO procedures (code, version, valid_from, entry) VALUES (%s, %s, %s, %s)",
                    (*key, entry["valid_from"], Jsonb(entry)),
                )
                inserted += 1
            elif row[0] == entry:
                unchanged += 1
            else:
                raise CatalogueConflict(
                    f"procedure {key[0]} version {key[1]} differs from the stored one; "
                    "add a new version instead of editing a published one"
                )
    return inserted, unchanged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("file", nargs="?", default=str(DEFAULT_FILE))
    args = parser.parse_args(argv)
    try:
        inserted, unchanged = load(args.database_url, Path(args.file))
    except CatalogueConflict as exc:
        sys.stderr.write(f"catalogue not loaded: {exc}\n")
        return 1
    print(f"catalogue: {inserted} procedure version(s) added, {unchanged} unchanged")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
