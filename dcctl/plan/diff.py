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

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dcctl import targets
from dcctl.targets import Target

SNAPSHOT = "snapshot.json"


@dataclass
class Change:
    layer: str
    key: str
    action: str  # create | update | delete
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "key": self.key,
            "action": self.action,
            "fields": {k: {"old": o, "new": n} for k, (o, n) in self.fields.items()},
        }


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
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SnapshotError(f"{path}: not a readable snapshot ({exc})") from None
    if not isinstance(data, dict) or "target" not in data:
        raise SnapshotError(
            f"{path} has no target (written before snapshots had one; it may be a lab "
            "rehearsal). If it records the last production apply, run "
            f"`dcctl snapshot adopt {Path(state_dir).parent} --target prod`; if it was a "
            "rehearsal, delete it (the next lab apply writes state/lab/snapshot.json)"
        )
    if data["target"] != name:
        raise SnapshotError(f"{path} is the {data['target']} target's snapshot, not {name}'s")
    state: dict[str, dict[str, Any]] = data.get("state") or {}
    return state


def write_snapshot(
    state_dir: Path, state: dict[str, dict[str, Any]], target: Target | str = "prod"
) -> Path:
    """Write `target`'s snapshot atomically, so an interrupted apply never leaves half one."""
    path = snapshot_path(state_dir, target)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(SNAPSHOT + ".tmp")
    body = {"target": targets.get(target).name, "state": state}
    tmp.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path


def adopt_snapshot(state_dir: Path, target: Target | str) -> Path:
    """Give an untargeted (old) ``state/snapshot.json`` to `target`, as an operator decided."""
    old = Path(state_dir) / SNAPSHOT
    try:
        data = json.loads(old.read_text())
    except (OSError, ValueError) as exc:
        raise SnapshotError(f"{old}: nothing to adopt ({exc})") from None
    if not isinstance(data, dict) or "target" in data:
        raise SnapshotError(f"{old} already names its target; nothing to adopt")
    dest = snapshot_path(state_dir, target)
    if dest != old and dest.exists():
        raise SnapshotError(f"{dest} exists; {targets.get(target).name} has its own snapshot")
    written = write_snapshot(state_dir, data, target)
    if written != old:
        old.unlink()
    return written


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def diff_states(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> list[Change]:
    changes: list[Change] = []
    for layer in new.keys() | old.keys():
        before, after = old.get(layer, {}), new.get(layer, {})
        for key in sorted(after.keys() - before.keys()):
            # A reviewer wants to see what is being created, not just its name.
            created = {f: (None, v) for f, v in _flatten(after[key]).items()}
            changes.append(Change(layer, key, "create", created))
        for key in sorted(before.keys() - after.keys()):
            changes.append(Change(layer, key, "delete"))
        for key in sorted(after.keys() & before.keys()):
            if after[key] == before[key]:
                continue
            fa, fb = _flatten(after[key]), _flatten(before[key])
            fields = {
                f: (fb.get(f), fa.get(f))
                for f in sorted(fa.keys() | fb.keys())
                if fa.get(f) != fb.get(f)
            }
            changes.append(Change(layer, key, "update", fields))
    order = {layer: i for i, layer in enumerate(new)}
    changes.sort(key=lambda c: (order.get(c.layer, 99), c.key))
    return changes
