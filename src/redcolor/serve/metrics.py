"""Prometheus metrics of one server (its own registry, so several apps can live in one process)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from redcolor.bus.signing import REASONS
from redcolor.serve.sensors import SensorWatch

_LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """Every metric ``/metrics`` exposes.

    Delivery latency runs from the moment the server read the event from the store to the moment
    the bytes were handed to the client's socket. ``channel="stream_fanout"`` is observed once
    per event, when the fan-out has written to the last WebSocket (the worst client); ``sse`` and
    ``ws`` (the queued fallback) per client; ``mqtt`` per event. ``deliveries{channel="stream"}``
    counts events handed to stream clients (WebSocket sockets and SSE queues).

    The live core's sensor counts are read from its ingest at scrape time (a
    :class:`SensorCollector` the server state registers); ``ingest_latency`` runs from a
    datagram's arrival at the socket to the alert events of the scan it completed being durable.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.ingest_latency = Histogram(
            "redcolor_ingest_latency_seconds",
            "Datagram arrival at the socket -> the alert events of its scan durable",
            buckets=_LATENCY_BUCKETS_S,
            registry=r,
        )
        self.events = Counter("redcolor_events", "Alert events published", registry=r)
        self.deliveries = Counter(
            "redcolor_deliveries", "Event deliveries to clients", ["channel"], registry=r
        )
        self.clients = Gauge(
            "redcolor_connected_clients", "Connected stream clients", ["channel"], registry=r
        )
        self.dropped = Counter(
            "redcolor_dropped_clients",
            "Clients dropped for being too slow",
            ["channel"],
            registry=r,
        )
        self.latency = Histogram(
            "redcolor_delivery_latency_seconds",
            "Event read from store -> bytes handed to the client socket",
            ["channel"],
            buckets=_LATENCY_BUCKETS_S,
            registry=r,
        )
        self.rejected = Counter(
            "redcolor_rejected_requests", "Requests answered 4xx", ["status"], registry=r
        )
        self.ws_protocol_errors = Counter(
            "redcolor_ws_protocol_errors",
            "WebSocket connections closed for bad frames (code 1002), invalid UTF-8 (1007) or "
            "an oversize message (1009)",
            ["code"],
            registry=r,
        )
        self.last_seq = Gauge("redcolor_last_seq", "Last published event seq", registry=r)
        self.channel_errors = Counter(
            "redcolor_channel_errors", "Failed channel sends (MQTT, push)", ["channel"], registry=r
        )
        self.bus_rejected = Counter(
            "redcolor_bus_rejected",
            "Bus messages an edge refused (never stored or served), by reason",
            ["reason"],
            registry=r,
        )
        for reason in REASONS:
            self.bus_rejected.labels(reason)
        self.bus_reconnects = Counter(
            "redcolor_bus_reconnects", "NATS sessions lost and reopened", ["role"], registry=r
        )
        self.sirens = Gauge("redcolor_sirens_connected", "Connected siren controllers", registry=r)
        self.siren_commands = Counter(
            "redcolor_siren_commands", "Commands sent to sirens", ["command"], registry=r
        )
        self.siren_ack_timeouts = Counter(
            "redcolor_siren_ack_timeouts",
            "Siren commands not acknowledged within the deadline (per siren: GET /v1/sirens)",
            registry=r,
        )
        self.siren_dropped = Counter(
            "redcolor_siren_dropped",
            "Siren connections dropped (queue_full, send_timeout, replaced, revoked)",
            ["reason"],
            registry=r,
        )
        self.task_up = Gauge(
            "redcolor_task_up",
            "1 while a background task runs (or has finished on purpose), 0 while it is down",
            ["task"],
            registry=r,
        )
        self.task_restarts = Counter(
            "redcolor_task_restarts",
            "Restarts of a background task after it failed",
            ["task"],
            registry=r,
        )
        self.ha_leader = Gauge(
            "redcolor_ha_leader", "1 while this core leads (writes under a store term)", registry=r
        )
        self.ha_takeovers = Counter(
            "redcolor_ha_takeovers", "Store terms this core took on becoming the leader", registry=r
        )
        self.ha_elections = Counter(
            "redcolor_ha_elections", "Lease terms this core won", registry=r
        )
        self.siren_ack_latency = Histogram(
            "redcolor_siren_ack_latency_seconds",
            "Command sent -> acknowledgement received",
            buckets=_LATENCY_BUCKETS_S,
            registry=r,
        )
        self.push_subscriptions = Gauge(
            "redcolor_push_subscriptions", "Web Push subscriptions held", registry=r
        )
        self.push_refused = Counter(
            "redcolor_push_refused",
            "Push subscription changes or sends refused (reason: address, address_at_send, "
            "rate, cap)",
            ["reason"],
            registry=r,
        )


class SensorCollector(Collector):
    """The ingest's plain counts and the sensors' health, read when ``/metrics`` is scraped
    (the ingest keeps the counts; nothing is counted twice). Labels are bounded: the registry's
    sensors plus ``unregistered``, and the fixed results and reasons of the ingest."""

    def __init__(self, source: Callable[[], SensorWatch | None]) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        watch = self._source()
        if watch is None:
            return
        counts = watch.counts()
        for name, what, table in (
            ("datagrams", "Datagrams received", counts.datagrams),
            ("plots", "Plots (CAT048 reports) decoded", counts.plots),
            ("services", "Service messages (CAT034 records) decoded", counts.services),
        ):
            family = CounterMetricFamily(
                f"redcolor_sensor_{name}",
                f"{what}, by sensor (or unregistered) and result (accepted or the drop reason)",
                labels=["sensor", "result"],
            )
            for (sensor, result), n in sorted(table.items()):
                family.add_metric([sensor, result], n)
            yield family
        scans = CounterMetricFamily(
            "redcolor_sensor_scans", "Scans handed to the tracker", labels=["sensor"]
        )
        for sensor, n in sorted(counts.scans.items()):
            scans.add_metric([sensor], n)
        yield scans
        up = GaugeMetricFamily(
            "redcolor_sensor_up", "1 while a sensor is ok, 0 while degraded", labels=["sensor"]
        )
        age = GaugeMetricFamily(
            "redcolor_sensor_last_data_age_seconds",
            "Seconds since a sensor's last accepted datagram (NaN: never heard)",
            labels=["sensor"],
        )
        for h in watch.health():
            up.add_metric([h.id], int(h.state == "ok"))
            age.add_metric([h.id], math.nan if h.last_data_age_s is None else h.last_data_age_s)
        yield up
        yield age
