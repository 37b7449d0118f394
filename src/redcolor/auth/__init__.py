"""redcolor.auth: credentials of machine clients (siren controllers, edge servers, sensors).

:mod:`tokens` keeps API tokens (hashed at rest) in the event store's SQLite file and checks them;
:mod:`admin` holds the functions behind ``redcolor tokens add|list|revoke``. The server and the
CLI use this package; it depends only on ``geo`` (to check area ids) and the shared errors.
"""

from redcolor.auth.tokens import (
    ROLES,
    Credential,
    TokenStore,
    authorize_siren,
    bearer_token,
    check_name,
    parse_area_list,
)

__all__ = [
    "ROLES",
    "Credential",
    "TokenStore",
    "authorize_siren",
    "bearer_token",
    "check_name",
    "parse_area_list",
]
