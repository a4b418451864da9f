"""The contract every engine layer keeps: plan, apply and drift, with one typed result.

Why one shape: the orchestrator runs the layers in data-flow order and the CLI
renders their results; neither should know an engine's private result format.
A layer (switches, VMs, hosts; a new engine later) receives a :class:`Context`
(spec, target, the desired state computed once, what earlier layers produced)
and returns a :class:`LayerResult`: one :class:`Item` per thing it manages
(switch, Pulumi resource, host) with a :class:`Status`, plus the layer's own
JSON detail for pipelines. ``dcctl switch push`` runs the same layer code as
``dcctl apply``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from dcctl.i18n import N_, _

if TYPE_CHECKING:
    from dcctl.spec.loader import Spec
    from dcctl.targets import Target

__all__ = [
    "WAITING",
    "Context",
    "Item",
    "Layer",
    "LayerResult",
    "Status",
    "Step",
    "count_text",
    "op_word",
]

#: The action of an item a plan could not check yet (a host before its VM exists):
#: pending work, not a failure.
WAITING = "not reachable yet"

#: Progress callback: (what happened, to what), e.g. ("create", "dinkes-simpus").
Step = Callable[[str, str], None]

#: The engines' words for what happens to an item (progress lines), as msgids: a person
#: reads them in the language in force, the JSON keeps the English keys.
_OP_WORDS = {
    "create": N_("create"),
    "update": N_("update"),
    "replace": N_("replace"),
    "delete": N_("delete"),
    "create-replacement": N_("create-replacement"),
    "delete-replaced": N_("delete-replaced"),
    "same": N_("same"),
    "changed": N_("changed"),
    "would change": N_("would change"),
    "created": N_("created"),
    "repaired": N_("repaired"),
    "failed": N_("failed"),
    "unreachable": N_("unreachable"),
    "planned": N_("planned"),
    "unchanged": N_("unchanged"),
    "rolled_back": N_("rolled_back"),
    "backed_up": N_("backed_up"),
    "skipped": N_("skipped"),
}
#: A layer's counts as the summary prints them ("3 create"); the JSON keeps the keys.
_COUNT_WORDS = {
    "create": N_("{count} create"),
    "update": N_("{count} update"),
    "replace": N_("{count} replace"),
    "delete": N_("{count} delete"),
    "create-replacement": N_("{count} create-replacement"),
    "delete-replaced": N_("{count} delete-replaced"),
    "same": N_("{count} same"),
    "changed": N_("{count} changed"),
    "failed": N_("{count} failed"),
    "unreachable": N_("{count} unreachable"),
    "planned": N_("{count} planned"),
    "unchanged": N_("{count} unchanged"),
    "rolled_back": N_("{count} rolled_back"),
    "backed_up": N_("{count} backed_up"),
    "skipped": N_("{count} skipped"),
}


def op_word(op: str) -> str:
    """An engine's step word (``create``, ``would change``) in the language in force;
    a word no engine table lists is shown as the engine said it."""
    return _(_OP_WORDS[op]) if op in _OP_WORDS else op


def count_text(op: str, count: int) -> str:
    """``3 create`` in the language in force (an unlisted word as ``3 word``)."""
    return _(_COUNT_WORDS[op]).format(count=count) if op in _COUNT_WORDS else f"{count} {op}"


class Status(StrEnum):
    """What happened to (or would happen to) one managed item."""

    same = "same"  # already as the spec says
    planned = "planned"  # a plan found work an apply would do
    changed = "changed"  # an apply changed it
    failed = "failed"  # the engine could not do (or check) it
    unreachable = "unreachable"  # could not be reached at all
    rolled_back = "rolled_back"  # changed, failed verification, put back as it was

    @property
    def ok(self) -> bool:
        return self not in (Status.failed, Status.unreachable, Status.rolled_back)

    @property
    def pending(self) -> bool:
        """Work an apply does (planned) or did (changed)."""
        return self in (Status.planned, Status.changed)


@dataclass(frozen=True)
class Item:
    """One switch, Pulumi resource or host in a layer's result."""

    name: str
    status: Status
    #: What changes, in the engine's words: "create", "replace", "delete" for a
    #: resource, "3 tasks" for a host; empty when nothing does.
    action: str = ""
    opd: str | None = None
    #: The change itself: lines to push, changed tasks, changed fields.
    lines: tuple[str, ...] = ()
    error: str | None = None
    #: Why nothing was done, when that needs saying ("inputs unchanged since ...").
    note: str = ""


@dataclass
class LayerResult:
    """A layer's outcome: its items, its errors, and its JSON detail for pipelines."""

    layer: str
    items: list[Item] = field(default_factory=list)
    #: Failures of the layer or of items, one line each, fit for a person.
    errors: list[str] = field(default_factory=list)
    #: The engine's counts by outcome (``{"create": 2, "same": 9}``), as reported so far.
    changes: dict[str, int] = field(default_factory=dict)
    #: Engine-specific JSON detail (``steps``, ``per_opd``, ``tasks``...), for pipelines.
    detail: dict[str, Any] = field(default_factory=dict)
    #: What later layers need from this one (the VMs' addresses for the hosts).
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors and all(i.status.ok for i in self.items)

    @property
    def has_changes(self) -> bool:
        return any(i.status.pending for i in self.items)

    def by_opd(self) -> dict[str, Counter[str]]:
        """Pending actions per OPD (the per-OPD summary a plan prints)."""
        out: dict[str, Counter[str]] = {}
        for item in self.items:
            if item.opd is not None and item.action:
                out.setdefault(item.opd, Counter())[item.action] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"changes": dict(self.changes), **self.detail}

    @classmethod
    def broken(cls, layer: str, error: str) -> LayerResult:
        """The whole layer failed before any item (a missing credential, an engine error).

        Every error line says what failed: an exception without a message (seen
        from a drift before any apply) is not printed as a bare ``vms: ``.
        """
        what = " ".join(str(error).split()) or _("failed, and the engine gave no reason")
        return cls(layer, errors=[f"{layer}: {what}"])


@dataclass
class Context:
    """What a layer works from: one spec, one target, one desired state per run."""

    spec: Spec
    target: Target
    state: dict[str, Any]
    on_step: Step | None = None
    #: Results of the layers that ran before this one, by layer name.
    earlier: dict[str, LayerResult] = field(default_factory=dict)
    #: What a saved plan reviewed, per layer (``switches``: lines per switch): a layer
    #: leaves an item alone whose change differs now (its live state moved).
    expected: dict[str, Any] = field(default_factory=dict)
    #: Run everything, even what recorded inputs prove unchanged (``apply --converge``).
    converge: bool = False

    def step(self, op: str, name: str) -> None:
        if self.on_step:
            self.on_step(op, name)


class Layer(Protocol):
    """One engine's layer; :data:`dcctl.engines.orchestrate.LAYERS` lists them in order."""

    #: ``--layer`` name and the key of its result.
    name: str
    #: Layers whose failure makes this one pointless (hosts need their VMs).
    needs: tuple[str, ...]

    def plan(self, ctx: Context) -> LayerResult:
        """What an apply would change; changes nothing."""
        ...

    def apply(self, ctx: Context) -> LayerResult:
        """Make the estate match the desired state; idempotent."""
        ...

    def drift(self, ctx: Context) -> LayerResult:
        """Differences between the live estate and what was applied; changes nothing."""
        ...
