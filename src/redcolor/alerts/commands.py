"""What an operator can tell the lifecycle, and what the lifecycle tells an operator back.

Commands are plain values: the desk (``redcolor.operators.desk``) builds them after its
two-person rule, :func:`~redcolor.alerts.lifecycle.check_command` validates them against a
state without changing it, and :func:`~redcolor.alerts.lifecycle.apply` turns them into events
after a step's threat decisions. They carry the ``source`` the events will carry
(``("operator:<proposer>", "approved:<approver>")``), so every public message names the people
behind it.

:class:`OpenAlert` is the read side: every open alert, automatic and manual, as the operator
console lists it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from redcolor.model import Category, Status

OPERATOR_PREFIX = "operator:"
"""The ``source`` prefix of an event an operator made (``operator:<user name>``)."""

ManualStage = Literal["pre_alert", "alert"]


@dataclass(frozen=True, slots=True)
class IssueAlert:
    """A manual alert. The desk chooses the id (``op-<proposal id>``); ``expires_at_unix_s``
    None keeps it open until ended by hand; ``instructions`` None takes the prepared texts of
    its category and stage."""

    alert_id: str
    category: Category
    stage: ManualStage
    area_ids: frozenset[int]
    expires_at_unix_s: float | None
    status: Status
    source: tuple[str, ...]
    instructions: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class UpdateAlert:
    """Add areas to and remove areas from any open alert, automatic or manual."""

    alert_id: str
    add_area_ids: frozenset[int]
    remove_area_ids: frozenset[int]
    source: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EndAlert:
    """An all-clear by hand; ``area_ids`` None ends every area of the alert."""

    alert_id: str
    area_ids: frozenset[int] | None
    source: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CancelAlert:
    """The alert was false: every one of its areas gets a ``cancelled`` event."""

    alert_id: str
    source: tuple[str, ...]


Command = IssueAlert | UpdateAlert | EndAlert | CancelAlert


@dataclass(frozen=True, slots=True)
class OpenArea:
    """One area of an open alert: its stage now and its time to reach shelter."""

    id: int
    stage: ManualStage
    shelter_s: int


@dataclass(frozen=True, slots=True)
class OpenAlert:
    """An open alert as the operator console lists it; ``expires_unix_s`` is when it ends by
    itself (None: a manual alert that only a person ends)."""

    alert_id: str
    category: Category
    status: Status
    manual: bool
    areas: tuple[OpenArea, ...]
    source: tuple[str, ...]
    expires_unix_s: float | None


def is_operator_source(source: tuple[str, ...]) -> bool:
    """Whether an event's ``source`` says a person made it (rather than a threat track)."""
    return any(s.startswith(OPERATOR_PREFIX) for s in source)
