"""Customer data rights: export of one customer's data, erasure, and retention of closed tickets and raw sources.

The audit log that records who did these lives in hub.audit."""
