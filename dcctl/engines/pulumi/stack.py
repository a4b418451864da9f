"""Drive the regency Pulumi program through the Automation API.

Defaults need no cloud account: a local file backend inside the spec repo's
state directory (reviewable, backed up with the repo) and the passphrase
secrets provider. The passphrase comes from DCCTL_PASSPHRASE, or a file named
by DCCTL_PASSPHRASE_FILE (default ~/.config/dcctl/passphrase, created 0600 on
first use) - never from the repo. DCCTL_PULUMI_BACKEND selects another backend
(e.g. s3://bucket?endpoint=... for a team).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dcctl.engines import interrupt
from dcctl.engines.credentials import passphrase
from dcctl.engines.pulumi.toolchain import ensure_on_path
from dcctl.files import atomic_write
from dcctl.i18n import _

PROJECT = "dcctl-regency"
#: Terminal colour codes the engine may put in its diagnostics.
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class EngineError(RuntimeError):
    """The Pulumi engine failed; the message is fit for a person."""


@dataclass
class StackResult:
    changes: Counter[str] = field(default_factory=Counter)
    per_opd: dict[str, Counter[str]] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    steps: list[dict[str, str]] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    #: The engine's error diagnostics ("resource X: ..."), the cause when an update fails.
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "changes": dict(self.changes),
            "per_opd": {k: dict(v) for k, v in self.per_opd.items()},
            "steps": self.steps,
            **({"repairs": self.repairs} if self.repairs else {}),
        }


def _stack(state_dir: Path, target: str, program: Callable[[], None]) -> Any:
    from pulumi import automation as auto

    if ensure_on_path() is None:
        raise EngineError(_("no Pulumi engine found; run scripts/setup (builds it once, cached)"))
    backend_dir = state_dir / "pulumi"
    backend_dir.mkdir(parents=True, exist_ok=True)
    backend = os.environ.get("DCCTL_PULUMI_BACKEND", f"file://{backend_dir.resolve()}")
    home = _home(state_dir)
    env = {
        "PULUMI_BACKEND_URL": backend,
        "PULUMI_CONFIG_PASSPHRASE": passphrase(),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_HOME": str(home),
        "PULUMI_PYTHON_CMD": sys.executable,
        "PULUMI_DIY_BACKEND_NO_LEGACY_WARNING": "true",
    }
    opts = auto.LocalWorkspaceOptions(
        env_vars=env,
        project_settings=auto.ProjectSettings(name=PROJECT, runtime="python"),
        secrets_provider="passphrase",
    )
    try:
        return auto.create_or_select_stack(
            stack_name=target, project_name=PROJECT, program=program, opts=opts
        )
    except auto.errors.CommandError as exc:
        raise EngineError(_clean(exc)) from None


def _clean(exc: BaseException) -> str:
    text = str(exc)
    for marker in ("stderr:", "error:"):
        if marker in text:
            text = text.split(marker, 1)[1]
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return " ".join(lines)[:800] or type(exc).__name__


def _opd_of(urn: str) -> str:
    # urn:pulumi:stack::project::dcctl:regency:Opd$...::dinkes-simpus ; the OPD
    # component's name is the OPD code and leads every child's name.
    name = urn.rsplit("::", 1)[-1]
    return name.split("-", 1)[0] if "Opd" in urn else "site"


#: The engine's step operations as the plan's change classes (create, update in place,
#: replace, delete); a replacement is three steps (replace, create-replacement,
#: delete-replaced), all of class replace.
STEP_CLASS = {
    "create": "create",
    "update": "update",
    "replace": "replace",
    "create-replacement": "replace",
    "delete-replaced": "replace",
    "delete": "delete",
}
#: Resource types that are VMs (their disks go when one is deleted or replaced).
VM_TYPES = ("proxmoxve:index/vmLegacy:VmLegacy", "pulumi-python:dynamic/dcctl:LabVm")


def classify_step(op: str, type_: str, keys: list[str] | None) -> dict[str, str]:
    """A step's class, the reason of a replace and the data it loses (plan JSON/text)."""
    cls = STEP_CLASS.get(op, op)
    out = {"class": cls}
    if cls == "replace" and keys:
        out["reason"] = _("{fields} changes: forces replacement").format(fields=", ".join(keys))
    if cls in ("replace", "delete") and type_ in VM_TYPES:
        out["data_loss"] = (
            _("VM deleted") if cls == "delete" else _("VM replaced by a new one with empty disks")
        )
    return out


def _collector(result: StackResult, on_step: Callable[[str, str], None] | None) -> Callable:
    def record(op: str, meta: Any) -> None:
        result.changes[op] += 1
        opd = _opd_of(meta.urn)
        result.per_opd.setdefault(opd, Counter())[op] += 1
        name = meta.urn.rsplit("::", 1)[-1]
        result.steps.append(
            {
                "op": op,
                "type": meta.type,
                "name": name,
                "opd": opd,
                "fields": ",".join(meta.diffs or []),
                **classify_step(op, meta.type, getattr(meta, "keys", None)),
            }
        )
        if on_step:
            on_step(op, name)

    refreshing: set[str] = set()

    def on_event(event: Any) -> None:
        diag = getattr(event, "diagnostic_event", None)
        if diag is not None and str(getattr(diag, "severity", "")).startswith("error"):
            where = (diag.urn or "").rsplit("::", 1)[-1]
            message = _ANSI.sub("", diag.message or "")
            text = " ".join(ln.strip() for ln in message.splitlines() if ln.strip())
            if text:
                result.errors.append(f"{where}: {text}" if where else text)
            return
        outputs = getattr(event, "res_outputs_event", None)
        pre = getattr(event, "resource_pre_event", None)
        meta = (outputs or pre).metadata if (outputs or pre) is not None else None
        if meta is None or meta.type.startswith("pulumi:") or meta.type == "dcctl:regency:Opd":
            return
        op = str(getattr(meta.op, "value", meta.op))
        if pre is not None and op == "refresh":
            refreshing.add(meta.urn)
            return
        if outputs is not None:
            # The outcome of a refresh step: anything but "same" means the real
            # resource differs from the state, i.e. an out-of-band change.
            if meta.urn in refreshing:
                refreshing.discard(meta.urn)
                if op in ("update", "delete"):
                    record("drift", meta)
            return
        if op in ("same", "read"):
            result.changes["same"] += 1
            return
        record(op, meta)

    return on_event


def _clear_stale_locks(state_dir: Path, target: str) -> None:
    """Remove Pulumi's own stack lock left by a killed run.

    Callers hold dcctl's apply lock (a kernel flock that dies with its process),
    so no other dcctl run can be using this stack: any Pulumi lock file here is
    the leftover of an interrupted apply, and clearing it is what makes the next
    apply converge without manual repair. Only the default file backend is ours
    to clean; a team backend keeps its locks.
    """
    if os.environ.get("DCCTL_PULUMI_BACKEND"):
        return
    locks = state_dir / "pulumi" / ".pulumi" / "locks" / "organization" / PROJECT / target
    for lock in locks.glob("*.json*"):
        lock.unlink(missing_ok=True)


def checkpoint(state_dir: Path, stack: str) -> Path | None:
    """The file backend's record of ``stack`` (None: never created, or another backend).

    What Pulumi knows is live: a saved plan keeps its digest, and a drift before
    any apply has nothing to refresh.
    """
    found = sorted((state_dir / "pulumi" / ".pulumi" / "stacks").glob(f"*/{stack}.json"))
    return found[0] if found else None


def _home(state_dir: Path) -> Path:
    return (state_dir / ".pulumi-home").resolve()


def engine_processes(state_dir: Path) -> list[int]:
    """Pids (not ours) whose environment has this state's PULUMI_HOME: its engine and providers."""
    marker = b"PULUMI_HOME=" + os.fsencode(_home(state_dir))
    pids: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone, or not ours to read
            continue
        if marker in environ.split(b"\0"):
            pids.append(int(entry.name))
    return pids


def stop_leftover_engines(state_dir: Path, wait_s: float = 10.0) -> list[str]:
    """Kill what an interrupted apply of this state left running; returns what it did.

    Why: the Pulumi engine starts each provider in its own process group, so
    killing an apply's process group (a CI runner cancelling a job, a kill -9)
    leaves the lab VM provider running. That orphan finishes or rolls back its
    half-done create *while the next apply runs* and removes the namespace the
    next apply just made for the same VM. Callers hold dcctl's apply lock, so
    any process with this stack's PULUMI_HOME belongs to an apply that is gone.
    SIGKILL, not SIGTERM: the orphan's own clean-up is exactly what must not run;
    the next apply's create clears what it left.
    """
    killed = engine_processes(state_dir)
    for pid in killed:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    alive = list(killed)
    deadline = time.monotonic() + wait_s
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [p for p in alive if not _is_gone(p)]
    if alive:
        raise EngineError(
            _(
                "processes {pids} of an interrupted apply (Pulumi engine or provider) did not "
                "stop on SIGKILL; nothing was applied"
            ).format(pids=alive)
        )
    stopped = _("stopped {count} engine process(es) of an interrupted apply")
    return [stopped.format(count=len(killed))] if killed else []


def _is_gone(pid: int) -> bool:
    """Exited (a zombie waiting for its parent counts: it runs nothing any more)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def repair_file_backend(state_dir: Path) -> list[str]:
    """Undo what a killed engine leaves half-written in the file backend; returns what it did.

    Why: the backend's blob library writes each object atomically (temp file and
    rename) but its ``.attrs`` sidecar in place (truncate, then write). A SIGKILL
    between the two leaves an empty sidecar, and every later command fails with
    "failed to load checkpoint: EOF". The sidecar only holds optional metadata
    (content type, MD5), so an unreadable one is removed; orphaned temp files are
    removed; a checkpoint that is not valid JSON (a write lost on power failure)
    is replaced by the backup the engine keeps beside it. Callers hold dcctl's
    apply lock, so no engine is writing here. A team backend is not ours to touch.
    """
    if os.environ.get("DCCTL_PULUMI_BACKEND"):
        return []
    root = state_dir / "pulumi" / ".pulumi"
    done: list[str] = []
    if not root.is_dir():
        return done
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(state_dir)
        if path.name.endswith(".tmp"):
            path.unlink(missing_ok=True)
            done.append(_("removed the temp file {file} of an interrupted write").format(file=rel))
        elif path.name.endswith(".attrs") and not _is_json(path):
            path.unlink(missing_ok=True)
            done.append(_("removed the truncated metadata file {file}").format(file=rel))
        elif path.suffix == ".json" and "stacks" in path.parts and not _is_json(path):
            backup = path.with_name(path.name + ".bak")
            if _is_json(backup):
                os.replace(backup, path)
                path.with_name(path.name + ".attrs").unlink(missing_ok=True)
                done.append(_("restored {file} from its backup").format(file=rel))
    return done


#: Dynamic providers whose module moved: old module -> new module. Pulumi reads and
#: deletes a resource with the provider pickled into its state (by reference), so a
#: stack made before a move would fail its next refresh with ModuleNotFoundError.
MOVED_PROVIDERS = {"dcctl.engines.pulumi.labvm": "dcctl.lab.hypervisor.provider"}


def migrate_moved_providers(state_dir: Path, moved: dict[str, str] | None = None) -> list[str]:
    """Re-serialize every ``__provider`` in the file backend that names a moved module.

    Why here: only the checkpoint says which provider a resource was made with.
    Each pickled provider naming an old module is loaded with the new module in
    its place and serialized again as Pulumi's SDK does, so the bytes are exactly
    what the program writes today. Callers hold dcctl's apply lock.
    """
    moved = MOVED_PROVIDERS if moved is None else moved
    if os.environ.get("DCCTL_PULUMI_BACKEND") or not moved:
        return []
    root = state_dir / "pulumi" / ".pulumi" / "stacks"
    done: list[str] = []
    if not root.is_dir():
        return done
    needles = [old.encode() for old in moved]
    for path in sorted(root.rglob("*.json")):
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        if "__provider" not in text:
            continue
        data = json.loads(text)
        count = 0
        for res in ((data.get("checkpoint") or {}).get("latest") or {}).get("resources") or []:
            for part in ("inputs", "outputs"):
                props = res.get(part) or {}
                blob = props.get("__provider")
                if not isinstance(blob, str):
                    continue
                raw = _b64(blob)
                if raw is None or not any(n in raw for n in needles):
                    continue
                props["__provider"] = _reserialize(raw, moved)
                count += 1
        if count:
            atomic_write(path, json.dumps(data, indent=4))
            path.with_name(path.name + ".attrs").unlink(missing_ok=True)
            done.append(
                _("re-serialized {count} provider(s) of moved modules in {file}").format(
                    count=count, file=path.name
                )
            )
    return done


def _b64(blob: str) -> bytes | None:
    import base64
    import binascii

    try:
        return base64.b64decode(blob, validate=True)
    except (binascii.Error, ValueError):
        return None


def _reserialize(raw: bytes, moved: dict[str, str]) -> str:
    import io

    import dill
    from pulumi.dynamic.dynamic import serialize_provider

    class Unpickler(dill.Unpickler):  # type: ignore[misc]
        def find_class(self, module: str, name: str) -> Any:
            return super().find_class(moved.get(module, module), name)

    return serialize_provider(Unpickler(io.BytesIO(raw)).load())


def _is_json(path: Path) -> bool:
    try:
        json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    return True


def run(
    state_dir: Path,
    target: str,
    program: Callable[[], None],
    action: str,
    on_step: Callable[[str, str], None] | None = None,
) -> StackResult:
    """preview | up | destroy | refresh, with per-resource progress callbacks."""
    from pulumi import automation as auto

    result = StackResult()
    result.repairs = (
        stop_leftover_engines(state_dir)
        + repair_file_backend(state_dir)
        + migrate_moved_providers(state_dir)
    )
    for note in result.repairs:
        if on_step:
            on_step("repaired", note)
    stack = _stack(state_dir, target, program)
    _clear_stale_locks(state_dir, target)
    handler = _collector(result, on_step)
    tail: deque[str] = deque(maxlen=30)
    quiet = {"on_output": tail.append, "on_event": handler}
    try:
        with interrupt.on_stop(lambda: _stop_engine(state_dir)):
            _act(stack, action, result, quiet)
    except auto.errors.ConcurrentUpdateError:
        raise EngineError(
            _(
                "the Pulumi stack is locked by another update (a team backend's lock; "
                "check that no other apply is running, then `pulumi cancel` on that backend)"
            )
        ) from None
    except auto.errors.CommandError as exc:
        raise EngineError(_failure(exc, result.errors, tail)) from None
    return result


def _act(stack: Any, action: str, result: StackResult, quiet: dict[str, Any]) -> None:
    """One engine operation; its outputs go into `result` (up, and preview: what is deployed).

    A preview's outputs are the last deployment's: the hosts layer's plan digests
    them to know which hosts it may skip (nothing it depends on changed).
    """
    if action == "preview":
        stack.preview(**quiet)
        result.outputs = {k: v.value for k, v in stack.outputs().items() if not v.secret}
    elif action == "up":
        # Refresh first, so out-of-band changes are put back, not just reported.
        stack.up(refresh=True, **quiet)
        result.outputs = {k: v.value for k, v in stack.outputs().items() if not v.secret}
    elif action == "destroy":
        stack.destroy(**quiet)
    elif action == "drift":
        stack.refresh(preview_only=True, **quiet)
    else:
        raise ValueError(action)


def _stop_engine(state_dir: Path) -> None:
    """Pass a SIGTERM's stop on to the Pulumi engine as the SIGINT it cancels cleanly on.

    A terminal's Ctrl-C reaches the engine already (same process group); a second
    SIGINT would make it quit without finishing its in-flight operations.
    """
    if interrupt.signal_name() != "SIGTERM":
        return
    for pid in engine_processes(state_dir):
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        if comm == "pulumi":
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGINT)


def _failure(exc: BaseException, errors: list[str], tail: Sequence[str]) -> str:
    """Why an update failed, in the engine's words.

    The Automation API's exception often carries only "code: 255" and an empty
    stderr: the cause is in the error diagnostics (per resource), else in the
    last lines the engine printed. A bare exception name tells nobody anything.
    """
    if errors:
        return "; ".join(dict.fromkeys(errors))[:1500]
    text = _clean(exc)
    if text != type(exc).__name__:
        return text
    lines = [ln.strip() for ln in tail if ln.strip()]
    nothing = _("{error} (the engine printed nothing)").format(error=type(exc).__name__)
    return " ".join(lines)[-1500:] or nothing
