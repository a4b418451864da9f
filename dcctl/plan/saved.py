"""Saved plans: what an engineer reviewed, applied exactly, or refused if anything moved.

Why: a plan shown on a merge request is only worth approving if the apply does
that and nothing else. ``dcctl plan PATH --out FILE`` records the desired state
the apply will use, what it was computed from (the spec's files and Git commit,
the IPAM lock) and what it was compared against (the target's last-applied
snapshot, the Pulumi stack's state), plus each engine's preview when a target
was given (the exact lines each switch would receive). ``dcctl apply PATH --plan
FILE`` applies that desired state and refuses, naming what moved, when any of
those inputs differs now; a switch whose live config moved since the preview is
not pushed (its lines would differ from the reviewed ones).

The file holds no secret: the desired state and the previews are what ``plan -o
json`` prints. It is written 0600 all the same (it describes the estate).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dcctl import targets
from dcctl.engines.audit import git_commit
from dcctl.engines.pulumi.stack import checkpoint
from dcctl.i18n import _
from dcctl.plan.diff import snapshot_path
from dcctl.spec.loader import Spec

__all__ = ["FORMAT", "SavedPlan", "SavedPlanError", "fingerprint", "moved", "read", "write"]

FORMAT = "dcctl-plan/1"
LOCK_FILE = "dcctl.lock.yaml"


class SavedPlanError(ValueError):
    """A saved plan that cannot be read, or is not this spec's."""


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def fingerprint(spec: Spec, target: str) -> dict[str, Any]:
    """What a plan was computed from and compared against, as digests.

    ``spec``: each spec file's digest (by path under the spec root), so a refusal
    can name the files that changed; ``lock``: ``dcctl.lock.yaml``; ``snapshot``:
    the target's last-applied snapshot; ``stack``: the Pulumi stack's checkpoint.
    """
    tgt = targets.get(target)
    files: dict[str, str | None] = {}
    for name in spec.files:  # paths relative to the spec root, as the loader shows them
        p = Path(name)
        files[name] = _digest(p if p.is_absolute() else spec.root / p)
    stack = checkpoint(spec.state_dir, tgt.stack)
    return {
        "spec": dict(sorted(files.items())),
        "lock": _digest(spec.root / LOCK_FILE),
        "snapshot": _digest(snapshot_path(spec.state_dir, tgt)),
        "stack": _digest(stack) if stack is not None else None,
    }


@dataclass
class SavedPlan:
    """A saved plan as read back: its inputs' fingerprint, desired state and previews."""

    data: dict[str, Any]

    @property
    def target(self) -> str:
        return str(self.data["target"])

    @property
    def state(self) -> dict[str, dict[str, Any]]:
        state: dict[str, dict[str, Any]] = self.data["state"]
        return state

    @property
    def layers(self) -> list[str] | None:
        layers = self.data.get("layers")
        return list(layers) if layers else None

    @property
    def changes(self) -> list[dict[str, Any]]:
        return list(self.data.get("changes") or [])

    def switch_digests(self) -> dict[str, str] | None:
        """Each switch's reviewed delta, as a digest (None: the plan did not read switches)."""
        engines = self.data.get("engines") or {}
        switches = (engines.get("layers") or {}).get("switches")
        if not switches or "switches" not in switches:
            return None
        return {s["name"]: s["digest"] for s in switches["switches"] if s.get("digest")}


def write(
    out: Path,
    spec: Spec,
    target: str,
    state: dict[str, dict[str, Any]],
    changes: list[dict[str, Any]],
    engines: dict[str, Any] | None,
    layers: list[str] | None,
) -> Path:
    """Write the saved plan to ``out`` (0600, atomically)."""
    body = {
        "format": FORMAT,
        "site": spec.site.name,
        "target": targets.get(target).name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "commit": git_commit(spec.root, short=False),
        "inputs": fingerprint(spec, target),
        "layers": layers,
        "state": state,
        "changes": changes,
        **({"engines": engines} if engines is not None else {}),
    }
    out = Path(out)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(body, indent=1, sort_keys=True, default=str) + "\n")
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out


def read(path: Path) -> SavedPlan:
    """The saved plan in ``path``; SavedPlanError (naming the file) if it is not one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SavedPlanError(
            _("{file}: not a readable saved plan ({problem})").format(file=path, problem=exc)
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SavedPlanError(
            _("{file}: not a dcctl saved plan (no format {format})").format(
                file=path, format=repr(FORMAT)
            )
        )
    for key in ("target", "state", "inputs"):
        if key not in data:
            raise SavedPlanError(
                _("{file}: saved plan has no {key}").format(file=path, key=repr(key))
            )
    return SavedPlan(data)


def moved(plan: SavedPlan, spec: Spec, state: dict[str, dict[str, Any]]) -> list[str]:
    """What differs now from when ``plan`` was made, one line each ([]: nothing moved)."""
    if plan.data.get("site") != spec.site.name:
        return [
            _("the plan is for site {site}, this spec is {spec}").format(
                site=repr(plan.data.get("site")), spec=repr(spec.site.name)
            )
        ]
    then = plan.data["inputs"]
    now = fingerprint(spec, plan.target)
    out: list[str] = []
    old_files, new_files = then.get("spec") or {}, now["spec"]
    changed = sorted(f for f in old_files.keys() & new_files.keys() if old_files[f] != new_files[f])
    added = sorted(new_files.keys() - old_files.keys())
    removed = sorted(old_files.keys() - new_files.keys())
    for what, names in (
        (_("spec files changed since the plan: {files}"), changed),
        (_("spec files added since the plan: {files}"), added),
        (_("spec files removed since the plan: {files}"), removed),
    ):
        if names:
            out.append(what.format(files=", ".join(names)))
    if then.get("lock") != now["lock"]:
        out.append(_("{file} changed since the plan").format(file=LOCK_FILE))
    if then.get("snapshot") != now["snapshot"]:
        out.append(
            _("{target}'s last-applied snapshot changed since the plan (another apply ran)").format(
                target=plan.target
            )
        )
    if then.get("stack") != now["stack"]:
        out.append(
            _("the Pulumi stack of {target} changed since the plan (another apply ran)").format(
                target=plan.target
            )
        )
    if not out and state != plan.state:
        out.append(_("the desired state computed from the spec differs from the plan's"))
    commit = plan.data.get("commit")
    if out and commit:
        now_commit = git_commit(spec.root, short=False)
        if now_commit and now_commit != commit:
            out.append(
                _("(plan made at commit {then}, the repo is at {now})").format(
                    then=commit[:12], now=now_commit[:12]
                )
            )
    return out
