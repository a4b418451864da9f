"""Why a ticket cannot be fulfilled, named by the ticket field at fault.

A refusal goes back to the requester (often via the helpdesk), so it names the
field they filled in, not dcctl's internals, and it is never a traceback.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Refusal:
    field: str  # ticket field path like permintaan.vcpu, or "(file)" / "repo"
    reason: str
    hint: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        from dcctl.i18n import _

        where = _("line {n}: ").format(n=self.line) if self.line else ""
        text = f"{where}{self.field}: {self.reason}"
        return text + (" (" + _("hint: {hint}").format(hint=self.hint) + ")" if self.hint else "")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class TicketRefused(Exception):
    """The ticket cannot be fulfilled; nothing in the spec repo was changed."""

    def __init__(self, refusals: list[Refusal], ticket: str | None = None) -> None:
        self.refusals = refusals
        self.ticket = ticket
        super().__init__("; ".join(str(r) for r in refusals))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": False,
            "ticket": self.ticket,
            "refusals": [r.to_dict() for r in self.refusals],
        }


def refuse(field: str, reason: str, hint: str | None = None) -> TicketRefused:
    """Shorthand for the common single-reason refusal."""
    return TicketRefused([Refusal(field, reason, hint)])
