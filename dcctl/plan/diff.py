"""Diff desired state against the last applied snapshot, per layer and resource.

The snapshot is the desired state as it was when an apply last succeeded,
kept as JSON in the spec repo's state directory (reviewable in Git).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


def read_snapshot(state_dir: Path) -> dict[str, dict[str, Any]]:
    path = state_dir / SNAPSHOT
    if not path.exists():
        return {}
    return json.loads(path.read_text())


def write_snapshot(state_dir: Path, state: dict[str, dict[str, Any]]) -> None:
    """Write atomically so an interrupted apply never leaves half a snapshot."""
    state_dir.mkdir(parents=True, exist_ok=True)
    tmp = state_dir / (SNAPSHOT + ".tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, state_dir / SNAPSHOT)


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
