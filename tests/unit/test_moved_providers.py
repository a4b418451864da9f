"""Stacks made before the lab hypervisor moved still refresh: their pickled providers are rewritten.

A provider is pickled by reference (module and class name) into every dynamic
resource's ``__provider``. The old module is recreated here under its old name
for one serialization, exactly as the engine would have written it, then
removed; the migration must turn that state into the bytes today's program
writes for ``dcctl.lab.hypervisor.provider.LabVmProvider``.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

pytest.importorskip("dill")

from pulumi.dynamic.dynamic import serialize_provider

from dcctl.engines.pulumi.stack import migrate_moved_providers
from dcctl.lab.hypervisor.provider import LabVmProvider

OLD = "dcctl.engines.pulumi.labvm"


def _old_blob() -> str:
    """Today's serialization with the module name the old checkout had (same shape).

    Built from today's bytes: the provider is pickled by reference, so the only
    difference is the module string (and the frame length around it).
    """
    today = base64.b64decode(serialize_provider(LabVmProvider()))
    new = LabVmProvider.__module__.encode()
    assert today.count(new) == 1 and today[:3] == b"\x80\x04\x95"  # protocol 4, one frame
    body = today[11:].replace(bytes([0x8C, len(new)]) + new, bytes([0x8C, len(OLD)]) + OLD.encode())
    old = today[:3] + len(body).to_bytes(8, "little") + body
    return base64.b64encode(old).decode()


def _checkpoint(tmp_path: Path, blob: str) -> Path:
    path = tmp_path / "pulumi" / ".pulumi" / "stacks" / "dcctl-regency" / "lab.json"
    path.parent.mkdir(parents=True)
    vm = {
        "urn": "urn:pulumi:lab::dcctl-regency::pulumi-python:dynamic:Resource::x",
        "type": "pulumi-python:dynamic/dcctl:LabVm",
        "inputs": {"__provider": blob, "name": "x"},
        "outputs": {"__provider": blob, "name": "x"},
    }
    other = {"type": "pulumi:pulumi:Stack", "inputs": {}, "outputs": {}}
    data = {"version": 3, "checkpoint": {"latest": {"resources": [other, vm]}}}
    path.write_text(json.dumps(data))
    return path


def test_a_provider_of_the_old_module_is_rewritten_to_todays_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blob = _old_blob()
    assert OLD.encode() in base64.b64decode(blob)
    import dill

    with pytest.raises(ModuleNotFoundError, match=OLD.replace(".", r"\.")):
        dill.loads(base64.b64decode(blob))  # what refresh hit before the migration
    path = _checkpoint(tmp_path, blob)
    done = migrate_moved_providers(tmp_path)
    assert done == ["re-serialized 2 provider(s) of moved modules in lab.json"]
    vm = json.loads(path.read_text())["checkpoint"]["latest"]["resources"][1]
    today = serialize_provider(LabVmProvider())
    assert vm["inputs"]["__provider"] == vm["outputs"]["__provider"] == today
    assert OLD.encode() not in base64.b64decode(today)
    assert vm["inputs"]["name"] == "x"
    # Idempotent: nothing names the old module any more.
    assert migrate_moved_providers(tmp_path) == []


def test_state_without_moved_providers_is_left_byte_for_byte(tmp_path: Path) -> None:
    path = _checkpoint(tmp_path, serialize_provider(LabVmProvider()))
    before = path.read_bytes()
    assert migrate_moved_providers(tmp_path) == []
    assert path.read_bytes() == before
