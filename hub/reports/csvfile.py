"""Report tables as CSV: UTF-8 with a byte-order mark (spreadsheets then read Thai and Persian right), and cells
that a spreadsheet would run as a formula (customer text starting with = + - @) prefixed with an apostrophe."""
from __future__ import annotations

import csv
import io
from typing import Any

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, list):
        v = " ".join(str(x) for x in v)
    if isinstance(v, str) and v.startswith(_FORMULA):
        return "'" + v
    return v


def section_csv(report: dict[str, Any], name: str) -> str:
    """A grouped table: the group key (and its label, for agents), then the section's columns; the total last."""
    cols = report["columns"][name]
    table = report["sections"][name]
    labels = report.get("labels") or {}
    group = report["group"]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    head = [group] + (["agent_name"] if group == "agent" else []) + cols
    w.writerow(head)
    for row in [*table["rows"], {"key": "total", **table["total"]}]:
        name_col = [_cell(labels.get(row["key"]))] if group == "agent" else []
        w.writerow([_cell(row["key"]), *name_col, *(_cell(row.get(c)) for c in cols)])
    return "\ufeff" + out.getvalue()


def list_csv(report: dict[str, Any], name: str) -> str:
    table = report["lists"][name]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(table["columns"])
    for row in table["rows"]:
        w.writerow([_cell(row.get(c)) for c in table["columns"]])
    return "\ufeff" + out.getvalue()
