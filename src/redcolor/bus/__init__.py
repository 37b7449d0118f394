"""redcolor.bus: how alert events leave the core.

:mod:`hub` fans events out to subscribers with exactly-once resume (a plain object);
:mod:`frames` builds each event's wire forms once; :mod:`follow` holds the asyncio adapters
(follow the store, replay a resume point, bounded queues, in-process consumers);
:mod:`jetstream` carries the log to edge servers over NATS JetStream, :mod:`login` says where
and with which credentials; :mod:`signing` signs each event and judges each message an edge
receives (sans-I/O), with the key files in :mod:`keys`.
"""
