"""Rebuild reporting's tables from its archive of events, in one transaction.

    python -m reporting.rebuild --database-url postgresql://…/motcua_reporting

The service may keep running: readers see the old tables until the rebuild commits, and events
arriving meanwhile wait on the rebuild's locks, then apply on top of the new tables.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from motcua_kit import cooperative  # noqa: F401  (psycopg's wait function, as in the service)
from motcua_kit.db import UnitOfWork
from motcua_kit.workcal import WorkCalendar
from psycopg_pool import ConnectionPool

from reporting.workflow.archive import rebuild


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--database-url", default=os.environ.get("REPORTING_DATABASE_URL"))
    parser.add_argument(
        "--calendar-file", default=os.environ.get("CALENDAR_FILE", "deploy/calendar.json")
    )
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("--database-url (or REPORTING_DATABASE_URL) is required")
    calendar = WorkCalendar.from_file(args.calendar_file) if args.calendar_file else WorkCalendar()
    started = time.monotonic()
    with ConnectionPool(
        args.database_url, min_size=1, max_size=1, kwargs={"autocommit": False}
    ) as pool:
        uow = UnitOfWork(pool, "reporting")
        ok = False
        try:
            uow.execute("LOCK TABLE events IN SHARE MODE")  # no event slips in half-way
            applied = rebuild(uow, calendar)
            ok = True
        finally:
            uow.finish(commit=ok)
    print(f"rebuilt reporting from {applied} archived events in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
