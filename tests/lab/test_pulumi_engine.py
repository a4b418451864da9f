"""End-to-end check of the locally built Pulumi engine (scripts/install-pulumi).

Runs an inline Automation API program with a Python dynamic provider against a local
file backend: exercises the CLI, the inline-program language runtime and the
``pulumi-resource-pulumi-python`` launcher (which runs ``python -m pulumi.dynamic``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from dcctl.engines.pulumi import toolchain

pytestmark = [pytest.mark.lab, pytest.mark.timeout(600)]

auto = pytest.importorskip("pulumi.automation")
pulumi = pytest.importorskip("pulumi")
dynamic = pytest.importorskip("pulumi.dynamic")


def _make_echo_resource() -> type:
    """Build the dynamic resource inside a function on purpose.

    Pulumi pickles the provider with dill; classes defined at module level in this test
    module would be pickled *by reference* and the provider process (a fresh interpreter
    started by ``pulumi-resource-pulumi-python``) cannot import the test module. Local
    classes are pickled by value.
    """

    class EchoProvider(dynamic.ResourceProvider):
        def create(self, props: dict[str, Any]) -> Any:
            return dynamic.CreateResult(id_=f"echo-{props['value']}", outs=dict(props))

    class Echo(dynamic.Resource):
        value: pulumi.Output[str]

        def __init__(self, name: str, value: str) -> None:
            super().__init__(EchoProvider(), name, {"value": value})

    return Echo


def _program() -> None:
    echo = _make_echo_resource()("echo", "hello")
    pulumi.export("value", echo.value)


@pytest.fixture
def engine_bin(monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = toolchain.engine_bin_dir()
    if bin_dir is None:
        pytest.skip(
            f"Pulumi engine v{toolchain.sdk_version()} not installed "
            f"(looked in {toolchain.cache_root()} and PATH); run scripts/install-pulumi"
        )
    # Record PATH so monkeypatch restores it after ensure_on_path() mutates os.environ.
    monkeypatch.setenv("PATH", os.environ.get("PATH", ""))
    assert toolchain.ensure_on_path() == bin_dir
    return bin_dir


def test_engine_version_matches_sdk(engine_bin: Path) -> None:
    assert toolchain.engine_version() == toolchain.sdk_version()
    assert os.environ["PATH"].split(os.pathsep)[0] == str(engine_bin)


def test_inline_program_with_dynamic_provider(engine_bin: Path, tmp_path: Path) -> None:
    backend = tmp_path / "backend"
    backend.mkdir()
    workdir = tmp_path / "work"
    workdir.mkdir()
    env = {
        "PULUMI_BACKEND_URL": backend.as_uri(),
        "PULUMI_CONFIG_PASSPHRASE": "test",
        "PULUMI_HOME": str(tmp_path / "pulumi-home"),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        # The dynamic-provider launcher runs `python3` from PATH unless told otherwise.
        "PULUMI_PYTHON_CMD": sys.executable,
        "PATH": os.environ["PATH"],
    }
    stack = auto.create_or_select_stack(
        stack_name="check",
        project_name="dcctl-engine-check",
        program=_program,
        opts=auto.LocalWorkspaceOptions(
            work_dir=str(workdir),
            env_vars=env,
            pulumi_command=auto.PulumiCommand(root=str(engine_bin.parent)),
        ),
    )

    first = stack.up(on_output=lambda _line: None)
    assert first.summary.result == "succeeded"
    assert first.summary.resource_changes == {"create": 2}  # stack + Echo
    assert first.outputs["value"].value == "hello"

    second = stack.up(on_output=lambda _line: None)
    assert second.summary.result == "succeeded"
    changes = second.summary.resource_changes or {}
    assert set(changes) == {"same"}, changes
    assert changes["same"] == 2

    destroyed = stack.destroy(on_output=lambda _line: None)
    assert destroyed.summary.result == "succeeded"
    assert destroyed.summary.resource_changes == {"delete": 2}
    assert stack.export_stack().deployment.get("resources") in (None, [])

    stack.workspace.remove_stack("check")


def test_interrupted_backend_write_is_repaired(
    engine_bin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SIGKILL between the blob library's truncate and write of a ``.attrs`` sidecar.

    The engine itself then refuses every command ("failed to load checkpoint:
    EOF"); dcctl's run repairs the backend under its lock and converges.
    """
    from dcctl.engines.pulumi import stack

    monkeypatch.setenv("DCCTL_PASSPHRASE", "repair-test")
    monkeypatch.delenv("DCCTL_PULUMI_BACKEND", raising=False)
    state = tmp_path / "state"
    first = stack.run(state, "repair", _program, "up")
    assert first.changes["create"] == 1 and not first.repairs
    attrs = sorted((state / "pulumi" / ".pulumi" / "stacks").rglob("repair.json.attrs"))
    assert attrs, "the file backend writes a metadata sidecar beside the checkpoint"
    attrs[0].write_bytes(b"")  # what the kill leaves behind

    # The failure mode is real: the engine cannot read the stack any more.
    with pytest.raises(stack.EngineError, match="failed to load checkpoint: EOF"):
        stack._stack(state, "repair", _program)

    steps: list[tuple[str, str]] = []
    again = stack.run(state, "repair", _program, "up", lambda op, n: steps.append((op, n)))
    assert again.repairs == [f"removed the truncated metadata file {attrs[0].relative_to(state)}"]
    assert ("repaired", again.repairs[0]) in steps
    assert again.changes["same"] >= 1 and not again.changes["create"]
    gone = stack.run(state, "repair", _program, "destroy")
    assert gone.changes["delete"] == 1
