"""redcolor.serve: the alert server (``redcolor serve``).

It follows the alert event store (polling ``read_since`` every ``poll_s``, woken at once by an
in-process pipeline) and publishes each event, encoded once, to every channel:

* ``WS /v1/stream?since=SEQ&log=LOG_ID&areas=1,2`` and ``GET /v1/events`` (SSE,
  ``Last-Event-ID`` ``LOG_ID:SEQ``): the live log with resume, no gap and no duplicate; every
  frame names its log; a resume point from another log gets a ``reset`` frame and this log from
  its start; heartbeats; slow clients dropped with a reason.
* REST: ``/v1/alerts/active`` (+ ``.geojson``), ``/v1/history`` (time range, area, category,
  cursor paging, no row cap), ``/v1/areas`` (+ ``.geojson``), ``/v1/locate``, ``/health``,
  ``/metrics`` (Prometheus), ``/docs`` and ``/openapi.json``.
* Compatible feeds: ``/warningMessages/alert/Alerts.json`` and
  ``/warningMessages/alert/History/AlertsHistory.json`` (paths case-insensitive), CAP 1.2 at
  ``/cap/{seq}.xml`` and its Atom index ``/cap/feed.atom``.
* Channels: sirens (``WS /v1/sirens/connect``, each with its own token, queue and sender),
  MQTT (``--mqtt``: events, retained area states, Home Assistant discovery), Web Push
  (``--push-dir``).
* Edges: ``--nats-publish`` sends the log to NATS JetStream; a server on another machine started
  with ``--nats-follow`` copies it into its own store, seq for seq, and serves it the same way.
* The web map from ``serve/static`` at ``/``.
"""
