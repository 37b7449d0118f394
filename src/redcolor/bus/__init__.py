"""redcolor.bus: how alert events leave the core.

:mod:`hub` fans events out to subscribers with exactly-once resume (a plain object);
:mod:`frames` builds each event's wire forms once; :mod:`follow` holds the asyncio adapters
(follow the store, replay a resume point, bounded queues, in-process consumers);
:mod:`jetstream` carries the log to edge servers over NATS JetStream.
"""
