"""Diff desired state against the last applied snapshot, per layer and resource.

The snapshot is the desired state as it was when an apply last succeeded,
kept as JSON in the spec repo's state directory (reviewable in Git). Each
target has its own (production: ``state/snapshot.json``; the lab:
``state/lab/snapshot.json``), and the file names its target: a lab rehearsal
must never make the production plan say "no changes". A snapshot from before
snapshots had a target is not guessed at: :class:`SnapshotError` says how to
adopt it (``dcctl snapshot adopt``).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dcctl import targets
from dcctl.files import atomic_write
from dcctl.i18n import N_, _
from dcctl.spec.source import load_data
from dcctl.speed import gc_paused
from dcctl.targets import Target

if TYPE_CHECKING:
    from dcctl.spec.loader import Spec

SNAPSHOT = "snapshot.json"


#: The four change classes, in the order a plan lists and counts them.
CLASSES = ("create", "update", "replace", "delete")


@dataclass
class Change:
    """One resource that changes, and how: its class, why it is replaced, what it loses.

    ``action`` is the class: ``create``, ``update`` (in place), ``replace`` (a new
    resource instead of the old one; ``reasons`` says which field forces it, as the
    target's hypervisor driver does) or ``delete``. ``data_loss`` says, in words, what
    data goes with the change (a VM's disks, a recording disk, a whole OPD); such a
    change needs ``dcctl apply --allow-destroy``. ``renamed_from`` is the old key of a
    VM renamed in place (the spec's ``renamed_from``).
    """

    layer: str
    key: str
    action: str  # one of CLASSES
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    data_loss: str | None = None
    renamed_from: str | None = None
    opd: str | None = None

    @property
    def name(self) -> str:
        """How the plan names the change (what ``--allow-destroy`` takes)."""
        return self.key

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "key": self.key,
            "action": self.action,
            "opd": self.opd,
            "fields": (
                # A create or a delete (most of a large plan): no list delta to compute.
                {k: {"old": o, "new": n} for k, (o, n) in self.fields.items()}
                if self.action in _WHOLE
                else {k: _field_json(o, n) for k, (o, n) in self.fields.items()}
            ),
            **({"reasons": self.reasons} if self.reasons else {}),
            "data_loss": self.data_loss is not None,
            **({"data_loss_reason": self.data_loss} if self.data_loss else {}),
            **({"renamed_from": self.renamed_from} if self.renamed_from else {}),
        }


#: Actions whose every field is all old or all new.
_WHOLE = frozenset({"create", "delete"})


def _field_json(old: Any, new: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"old": old, "new": new}
    if old is None or new is None:  # a create or a delete: no list delta (the common case)
        return out
    added, removed = list_delta(old, new)
    if added is not None:
        out.update(added=added, removed=removed)
    return out


def list_delta(old: Any, new: Any) -> tuple[list[Any] | None, list[Any] | None]:
    """Items added and removed when both values are lists; (None, None) otherwise."""
    if not isinstance(old, list) or not isinstance(new, list):
        return None, None
    return [v for v in new if v not in old], [v for v in old if v not in new]


_DIGITS = re.compile(r"(\d+)")


@functools.lru_cache(maxsize=1 << 16)
def natural_key(text: str) -> tuple[Any, ...]:
    """Sort key that orders digits as numbers: ``Gi1/0/4`` before ``Gi1/0/11``.

    Cached: a plan sorts the same field and port names over and over (issue 17).
    """
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in _DIGITS.split(text)
        if part
    )


def summarize(changes: list[Change]) -> dict[str, int]:
    """Counts per class, and of the changes that lose data (the plan's summary line)."""
    out = dict.fromkeys(CLASSES, 0)
    for c in changes:
        out[c.action] += 1
    out["data_loss"] = sum(1 for c in changes if c.data_loss)
    return out


class SnapshotError(ValueError):
    """A snapshot that cannot be used as "last applied" (the message says what to do)."""


def snapshot_path(state_dir: Path, target: Target | str) -> Path:
    """Where `target` keeps its last-applied snapshot."""
    return targets.get(target).state_path(Path(state_dir)) / SNAPSHOT


def read_snapshot(state_dir: Path, target: Target | str = "prod") -> dict[str, dict[str, Any]]:
    """What `target` last applied ({} before its first apply); SnapshotError if unusable."""
    name = targets.get(target).name
    path = snapshot_path(state_dir, target)
    if not path.exists():
        return {}
    try:
        data = load_data(path)  # the spec loader's limits: size, depth, value count
    except (OSError, ValueError) as exc:
        raise SnapshotError(
            _("{file}: not a readable snapshot ({problem})").format(file=path, problem=exc)
        ) from None
    if not isinstance(data, dict) or "target" not in data:
        raise SnapshotError(
            _(
                "{file} has no target (written before snapshots had one; it may be a lab "
                "rehearsal). If it records the last production apply, run "
                "`dcctl snapshot adopt {spec} --target prod`; if it was a "
                "rehearsal, delete it (the next lab apply writes state/lab/snapshot.json)"
            ).format(file=path, spec=Path(state_dir).parent)
        )
    if data["target"] != name:
        raise SnapshotError(
            _("{file} is the {other} target's snapshot, not {target}'s").format(
                file=path, other=data["target"], target=name
            )
        )
    state: dict[str, dict[str, Any]] = data.get("state") or {}
    return state


def write_snapshot(
    state_dir: Path, state: dict[str, dict[str, Any]], target: Target | str = "prod"
) -> Path:
    """Write `target`'s snapshot atomically, so an interrupted apply never leaves half one."""
    path = snapshot_path(state_dir, target)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"target": targets.get(target).name, "state": state}
    atomic_write(path, json.dumps(body, indent=2, sort_keys=True) + "\n")
    return path


def adopt_snapshot(state_dir: Path, target: Target | str) -> Path:
    """Give an untargeted (old) ``state/snapshot.json`` to `target`, as an operator decided."""
    old = Path(state_dir) / SNAPSHOT
    try:
        data = load_data(old)
    except (OSError, ValueError) as exc:
        raise SnapshotError(
            _("{file}: nothing to adopt ({problem})").format(file=old, problem=exc)
        ) from None
    if not isinstance(data, dict) or "target" in data:
        raise SnapshotError(_("{file} already names its target; nothing to adopt").format(file=old))
    dest = snapshot_path(state_dir, target)
    if dest != old and dest.exists():
        raise SnapshotError(
            _("{file} exists; {target} has its own snapshot").format(
                file=dest, target=targets.get(target).name
            )
        )
    written = write_snapshot(state_dir, data, target)
    if written != old:
        old.unlink()
    return written


#: Bookkeeping fields of a record that are not part of the resource (never a change).
_BOOKKEEPING = frozenset({"renamed_from"})


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"ports.Gi1/0/4.mode": ...}``: a record's fields in its order, nested keys natural."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        _flatten_into(out, value, prefix)
        return out
    return {prefix: value}


def _flatten_into(out: dict[str, Any], value: dict[Any, Any], prefix: str) -> None:
    """:func:`_flatten` of a non-empty mapping, written into `out` (one dict, no merging
    of partial ones: a x10 plan flattens 250,000 fields)."""
    if not prefix:
        items: Any = value.items()
    elif len(value) > 1:
        items = sorted(value.items(), key=_natural_item)
    else:
        items = value.items()
    for k, v in items:
        if not prefix and k in _BOOKKEEPING:
            continue
        name = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict) and v:
            _flatten_into(out, v, name)
        else:
            out[name] = v


def _natural_item(item: tuple[Any, Any]) -> tuple[Any, ...]:
    return natural_key(str(item[0]))


def _field_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    fb, fa = _flatten(before), _flatten(after)
    return {
        f: (fb.get(f), fa.get(f))
        for f in sorted(fa.keys() | fb.keys(), key=natural_key)
        if fa.get(f) != fb.get(f)
    }


def _gb(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _vm_loss(action: str, record: dict[str, Any], fields: dict[str, tuple[Any, Any]]) -> str | None:
    """What data a change of one VM loses, in words; None when it loses none."""
    disks = _("{gb} GB disk").format(gb=record.get("disk_gb"))
    if record.get("recording_disk_gb"):
        disks = _("{disks} and {gb} GB recording disk").format(
            disks=disks, gb=record["recording_disk_gb"]
        )
    if action == "delete":
        return _("VM deleted with its {disks}").format(disks=disks)
    if action == "replace":
        return _("VM replaced: a new VM with empty disks instead of its {disks}").format(
            disks=disks
        )
    for name, what in (("disk_gb", N_("disk")), ("recording_disk_gb", N_("recording disk"))):
        old, new = fields.get(name, (None, None))
        if name in fields and _gb(new) < _gb(old):
            if not new:
                return _("{what} of {old} GB removed").format(what=_(what), old=old)
            return _("{what} shrinks from {old} to {new} GB: data beyond {new} GB is lost").format(
                what=_(what), old=old, new=new
            )
    return None


def _replace_reasons(fields: dict[str, tuple[Any, Any]], replaces: Mapping[str, str]) -> list[str]:
    return [
        _("{field} changes: forces replacement ({why})").format(field=name, why=_(why))
        for name, why in replaces.items()
        if name in fields
    ]


@gc_paused
def diff_states(
    old: dict[str, dict[str, Any]],
    new: dict[str, dict[str, Any]],
    replaces: Mapping[str, str] | None = None,
) -> list[Change]:
    """Every change from ``old`` (the last apply) to ``new`` (the spec), classified.

    ``replaces`` is the target hypervisor's ``{VM field: why a change of it replaces
    the VM}`` (:func:`dcctl.plugins.hypervisor_replaces`); without it every VM change
    is in place. A VM whose record says ``renamed_from`` an old key that is gone is
    an in-place rename (an update of the old VM under its new key), not a delete and
    a create. An OPD that disappears is a change of its own (layer ``opds``) that loses
    data.
    """
    replaces = replaces or {}
    changes: list[Change] = []
    for layer in new.keys() | old.keys():
        before, after = old.get(layer, {}), new.get(layer, {})
        gone = set(before.keys() - after.keys())
        renamed: dict[str, str] = {}
        if layer == "vms":
            for key in after.keys() - before.keys():
                was = after[key].get("renamed_from")
                if was in gone and was not in renamed.values():
                    renamed[key] = was
            gone -= set(renamed.values())
        for key in sorted(after.keys() - before.keys() - renamed.keys(), key=natural_key):
            # A reviewer wants to see what is being created, not just its name.
            created = {f: (None, v) for f, v in _flatten(after[key]).items()}
            changes.append(Change(layer, key, "create", created, opd=after[key].get("opd")))
        for key in sorted(gone, key=natural_key):
            rec = before[key]
            loss = _vm_loss("delete", rec, {}) if layer == "vms" else None
            # What goes, so a reviewer sees more than a bare name.
            deleted = {f: (v, None) for f, v in _flatten(rec).items()}
            changes.append(
                Change(layer, key, "delete", deleted, data_loss=loss, opd=rec.get("opd"))
            )
        pairs = [(k, k) for k in after.keys() & before.keys()] + list(renamed.items())
        for key, was in sorted(pairs, key=lambda p: natural_key(p[0])):
            if key == was and after[key] == before[key]:
                continue
            fields = _field_changes(before[was], after[key])
            if not fields and key == was:
                continue
            change = Change(layer, key, "update", fields, opd=after[key].get("opd"))
            change.renamed_from = was if was != key else None
            if layer == "vms":
                change.reasons = _replace_reasons(fields, replaces)
                if change.reasons:
                    change.action = "replace"
                change.data_loss = _vm_loss(change.action, before[was], fields)
            changes.append(change)
    changes += _opd_changes(old, new)
    order = {layer: i for i, layer in enumerate(["opds", *new])}
    changes.sort(key=lambda c: (order.get(c.layer, 99), natural_key(c.key)))
    return changes


def _opd_changes(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> list[Change]:
    """OPDs removed (every OPD has networks): a change of its own, it takes all it had."""

    def opds(state: dict[str, dict[str, Any]]) -> set[str]:
        return {str(r["opd"]) for r in state.get("networks", {}).values() if "opd" in r}

    was, now = opds(old), opds(new)
    out: list[Change] = []  # a new OPD shows as its resources; a deleted one is named
    for code in sorted(was - now):
        lost = [k for k in old.get("vms", {}) if k.startswith(f"{code}/")]
        what = _("{n} VM(s)").format(n=len(lost)) if lost else _("no VMs")
        out.append(
            Change(
                "opds",
                code,
                "delete",
                data_loss=_(
                    "OPD {code} deleted with everything it has ({what}, its networks)"
                ).format(code=code, what=what),
                opd=code,
            )
        )
    return out


def target_changes(
    spec: Spec, state: dict[str, dict[str, Any]], target: Target | str
) -> list[Change]:
    """What applying ``state`` to ``target`` changes, against its last apply, classified.

    Replacements follow the hypervisor that ``target`` builds VMs on (production's
    driver for ``prod``, the lab's for ``lab``). SnapshotError if the snapshot is unusable.
    """
    from dcctl import plugins

    hypervisor = targets.get(target).hypervisor(spec)
    last = read_snapshot(spec.state_dir, target)
    return diff_states(last, state, plugins.hypervisor_replaces(hypervisor))
