"""What ``redcolor tokens add|list|revoke`` do, one function each (the CLI only renders)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from redcolor.auth.tokens import Credential, TokenStore, check_name, check_role, parse_area_list
from redcolor.errors import InputError


@contextlib.contextmanager
def _open(db: Path, *, create: bool = False) -> Iterator[TokenStore]:
    if not create and not db.exists():
        raise InputError(f"no alert store at {db} (give the server's --db)")
    store = TokenStore(db)
    try:
        yield store
    finally:
        store.close()


def add_token(
    db: Path, name: str, role: str, areas: str | None, edition: str = "current"
) -> tuple[Credential, str]:
    """Create a token in ``db``; returns its credential and the token text (shown once).

    ``areas`` (``"175,176"``) must name areas of ``edition``, so a typo is caught here rather
    than when the siren first connects.
    """
    check_name(name)
    check_role(role)
    bound = None
    if areas is not None:
        from redcolor.geo import load_areas

        bound = parse_area_list(areas)
        known = {a.id for a in load_areas(edition).areas}
        unknown = sorted(bound - known)
        if unknown:
            raise InputError(f"unknown area id {unknown[0]} in --areas (edition {edition})")
    with _open(db, create=True) as store:
        return store.add(name, role, bound)


def list_tokens(db: Path) -> list[Credential]:
    """Every token in ``db`` (revoked ones too); never a secret."""
    with _open(db) as store:
        return store.list()


def revoke_token(db: Path, name: str) -> Credential:
    """Revoke the live token named ``name`` in ``db``."""
    with _open(db) as store:
        return store.revoke(name)
