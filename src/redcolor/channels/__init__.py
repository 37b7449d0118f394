"""redcolor.channels: how alert events reach people and machines.

Pure encoders and state (no clock, no I/O): :mod:`active` (which areas are under alert),
:mod:`oref` (Home Front Command style live and history files), :mod:`cap` (CAP 1.2 and Atom),
:mod:`sirens` (siren commands and acknowledgement deadlines), :mod:`webpush` (RFC 8291/8292
encryption and headers). Thin async adapters: :mod:`mqtt`, :mod:`siren_sim` (simulated siren
controllers).
"""
