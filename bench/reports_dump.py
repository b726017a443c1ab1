"""Every report `bench.reports`' database gives, written out for a byte-for-byte comparison of two trees.

128 reports: five ranges (a day, a week, 30 days, 90 days, a year) in five time zones (Asia/Bangkok, UTC, Asia/Tehran,
America/New_York with its daylight saving, Asia/Kathmandu at +5:45) in every grouping, and three filtered ones.
`took_ms` is left out.  Run it against a database filled by `bench.reports --db FILE`, once per tree
(`HUB_BENCH_TREE=<checkout>` for another one), and compare the files with cmp:
    python -m bench.reports_dump --db /tmp/r.db --out /tmp/after.json
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import date, timedelta

from bench.common import HUB_TREE

sys.path.insert(0, str(HUB_TREE))

from hub.config import from_mapping  # noqa: E402
from hub.reports.figures import figures  # noqa: E402
from hub.reports.params import GROUPS, ReportQuery  # noqa: E402
from hub.store.db import Database  # noqa: E402

from bench.reports import DEPTS, START  # noqa: E402

ZONES = ("Asia/Bangkok", "UTC", "Asia/Tehran", "America/New_York", "Asia/Kathmandu")
RANGES = ((date(2026, 11, 30), 365), (date(2026, 11, 30), 30), (date(2026, 6, 15), 90), (date(2026, 3, 8), 7),
          (date(2026, 3, 29), 1))


def queries() -> list[ReportQuery]:
    out = [ReportQuery(last - timedelta(days=days - 1), last, tz, group)
           for last, days in RANGES for tz in ZONES for group in GROUPS]
    year = date(2026, 11, 30) - timedelta(days=364)
    out += [ReportQuery(year, date(2026, 11, 30), "Asia/Tehran", "agent", department="billing"),
            ReportQuery(year, date(2026, 11, 30), "UTC", "day", channel="email"),
            ReportQuery(date(2026, 6, 1), date(2026, 6, 30), "Asia/Bangkok", "week", department="sales",
                        channel="webchat")]
    return out


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--postgres")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    db = Database(args.postgres or f"sqlite+aiosqlite:///{args.db}")
    config = from_mapping({"departments": [{"name": d, "default": d == "support"} for d in DEPTS]})
    now = START + timedelta(days=366)
    with open(args.out, "w") as f:
        for q in queries():
            r = await figures(db, config, q, now)
            del r["took_ms"]
            f.write(json.dumps(r, sort_keys=True) + "\n")
    await db.close()


if __name__ == "__main__":
    asyncio.run(main())
