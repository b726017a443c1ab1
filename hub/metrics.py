"""Prometheus metrics, served at /metrics."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

INBOUND = Counter("hub_inbound_messages_total", "Customer messages stored", ["channel"], registry=REGISTRY)
DUPLICATES = Counter("hub_inbound_duplicates_total", "Redelivered provider messages ignored", ["channel"], registry=REGISTRY)
DELIVERIES = Counter("hub_deliveries_total", "Outbound delivery attempts by outcome", ["channel", "outcome"], registry=REGISTRY)
HTTP = Histogram("hub_http_request_seconds", "HTTP request time", ["route", "status"], registry=REGISTRY)
SOCKETS = Gauge("hub_websockets", "Open WebSockets", ["kind"], registry=REGISTRY)
RATE_LIMITED = Counter("hub_rate_limited_total", "Requests refused by rate limits", ["scope"], registry=REGISTRY)
CLASSIFY = Histogram(
    "hub_classify_seconds", "Customer message stored -> classified (queue wait included), by model variant",
    ["variant"], registry=REGISTRY,
    buckets=(0.002, 0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0),
)
ESCALATIONS = Counter("hub_escalations_total", "Tickets raised to complaint by a later message", registry=REGISTRY)
