"""redcolor.operators: the people at the console and what they did.

:mod:`users` keeps operator accounts (roles viewer < operator < supervisor < admin, argon2id
password hashes, an optional TOTP second factor); :mod:`sessions` the sessions a login opens
(bearer token or cookie, idle and absolute expiry, revocation, CSRF tokens); :mod:`limiter`
counts failed logins per name and per address; :mod:`audit` is the append-only, hash-chained
record of every operator action; :mod:`admin` holds the functions behind ``redcolor users``.
Everything is kept in the event store's SQLite file (:mod:`tables`), each store on its own
connection. No HTTP here: the server's routes call these.
"""

from redcolor.operators.audit import ACTIONS, AuditLog, AuditRecord
from redcolor.operators.limiter import LoginLimiter
from redcolor.operators.sessions import Session, SessionStore
from redcolor.operators.users import ROLES, User, UserStore, role_at_least

__all__ = [
    "ACTIONS",
    "ROLES",
    "AuditLog",
    "AuditRecord",
    "LoginLimiter",
    "Session",
    "SessionStore",
    "User",
    "UserStore",
    "role_at_least",
]
