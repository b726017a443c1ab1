"""Reports for supervisors: the JSON summary (`summary`) and the Reports tab's figures (`figures`, `api`).

May import hub.store, hub.config, routing.calendar and routing.sla (business hours per department) and
nlp.normalize (folding missed questions).
"""
from __future__ import annotations

from hub.reports.summary import summary

__all__ = ["summary"]
