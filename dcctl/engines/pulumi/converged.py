"""When the VM layer may leave the Pulumi engine alone: nothing it reads moved since it converged.

Why: a no-op apply still ran ``pulumi up --refresh`` (a refresh of every VM and network,
then a diff), and ``plan --target`` a preview, on every merge of the GitOps pipeline.
Both are skipped only with proof, as the hosts layer's plays are
(:mod:`dcctl.engines.ansible.converged`): after an ``up`` that succeeds, an HMAC digest
of everything the program reads is recorded for the target, with the stack's outputs;
a later apply or plan computes it again and skips the engine when it is the same,
handing on the recorded outputs (the hosts layer needs the VMs' addresses). What a
digest covers:

- the desired state the program is built from (every layer: more than it reads, never
  less) and the site inputs the target adds (hypervisor, endpoints, lab settings);
- the program's code: every file of ``dcctl/engines/pulumi/`` and of the lab's
  hypervisor (``dcctl/lab/hypervisor/``), the Pulumi SDK's version and the engine found;
- the checkpoint: the file backend's record of the stack, byte for byte, so an ``up``,
  ``refresh`` or ``import`` by anyone else (or a hand edit) makes the next run go to
  the engine. A team backend (``DCCTL_PULUMI_BACKEND``) has no local checkpoint to
  prove anything with: there the engine always runs.

Out-of-band changes to the VMs themselves are not seen by a skipped apply; that is
what ``dcctl drift`` (never skipped, scheduled in the pipelines) finds, and
``apply --converge`` (refresh and up whatever the record says) puts back. A record is
dropped before the engine runs, so a failed or killed ``up`` is never skipped next time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dcctl import targets
from dcctl.engines.pulumi.stack import checkpoint
from dcctl.files import atomic_write

FILE_NAME = "converged.json"
#: Part of every digest: a change of what is hashed invalidates every record.
FORMAT = 1
_CODE_DIRS = (
    Path(__file__).resolve().parent,
    Path(__file__).resolve().parents[2] / "lab" / "hypervisor",
)


def record_path(state_dir: Path, target: targets.Target | str) -> Path:
    """``state/vms/converged.json`` for production; the lab keeps its own."""
    return targets.get(target).state_path(Path(state_dir) / "vms") / FILE_NAME


def _code() -> str:
    h = hashlib.sha256()
    for base in _CODE_DIRS:
        for path in sorted(p for p in base.rglob("*.py") if p.is_file()):
            h.update(str(path.relative_to(base.parent)).encode() + b"\0")
            h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def _engine() -> dict[str, str | None]:
    from dcctl.engines.pulumi.toolchain import engine_bin_dir, sdk_version

    found = engine_bin_dir()
    return {"sdk": sdk_version(), "engine": str(found) if found else None}


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"dcctl vms converge record v1", hashlib.sha256).digest()


def digest(state_dir: Path, stack: str, inputs: dict[str, Any], secret: str) -> str | None:
    """HMAC of the program's inputs, code and the stack's checkpoint; None: no proof possible."""
    if os.environ.get("DCCTL_PULUMI_BACKEND"):
        return None
    found = checkpoint(Path(state_dir), stack)
    if found is None:
        return None
    body = {
        "format": FORMAT,
        "inputs": inputs,
        "code": _code(),
        "engine": _engine(),
        "checkpoint": hashlib.sha256(found.read_bytes()).hexdigest(),
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hmac.new(_key(secret), text, hashlib.sha256).hexdigest()


@dataclass
class Converged:
    """What the record says: when the stack converged with this digest, and its outputs."""

    at: str
    outputs: dict[str, Any]


class Record:
    """The target's record of its last converged ``up``; written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}  # none yet, or damaged: it only costs one engine run
        self.data: dict[str, Any] = data if isinstance(data, dict) else {}

    def matches(self, value: str | None) -> Converged | None:
        """The converged run these very inputs were recorded by (None: not so)."""
        recorded = self.data.get("digest")
        if value is None or not isinstance(recorded, str):
            return None
        if not hmac.compare_digest(recorded, value):
            return None
        outputs = self.data.get("outputs")
        return Converged(
            str(self.data.get("at") or "?"), outputs if isinstance(outputs, dict) else {}
        )

    def forget(self) -> None:
        """Drop the record before the engine runs: a half-done ``up`` must run again."""
        if self.data:
            self.data = {}
            self.path.unlink(missing_ok=True)

    def converged(self, value: str | None, outputs: dict[str, Any]) -> None:
        """Record a successful ``up`` with its digest and outputs (nothing if no proof)."""
        if value is None:
            return
        at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.data = {"version": FORMAT, "digest": value, "at": at, "outputs": outputs}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path, json.dumps(self.data, indent=2, sort_keys=True, default=str) + "\n")
