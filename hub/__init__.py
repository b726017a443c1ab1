"""Feedback hub core: domain types, storage, intake, outbox, bus, scheduler and web app."""
