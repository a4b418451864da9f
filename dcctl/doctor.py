"""`dcctl doctor`: what this machine has for each engine, and the command that fixes the rest."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from typing import Any

from dcctl.i18n import N_, _


def _version(cmd: list[str]) -> str | None:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    out = (p.stdout or p.stderr).strip().splitlines()
    return out[0][:80] if p.returncode == 0 and out else None


def checks() -> list[dict[str, Any]]:
    from dcctl.engines.pulumi.toolchain import engine_bin_dir, sdk_version

    rows: list[dict[str, Any]] = []

    def add(name: str, ok: bool, detail: str, fix: str | None, required: bool = True) -> None:
        rows.append(
            {
                "check": name,
                "ok": ok,
                "detail": detail,
                "fix": None if ok else fix,
                "required": required,
            }
        )

    bin_dir = engine_bin_dir()
    add(
        N_("pulumi engine"),
        bin_dir is not None,
        f"{bin_dir} (SDK {sdk_version()})"
        if bin_dir
        else _("none for SDK {version}").format(version=sdk_version()),
        "scripts/install-pulumi",
    )
    launcher = bool(bin_dir and (bin_dir / "pulumi-resource-pulumi-python").exists())
    add(
        N_("pulumi dynamic-provider launcher"),
        launcher,
        "pulumi-resource-pulumi-python",
        "scripts/install-pulumi",
    )
    add(
        "ansible",
        importlib.util.find_spec("ansible_runner") is not None
        and importlib.util.find_spec("ansible") is not None,
        _("ansible-core + ansible-runner"),
        "scripts/setup",
    )
    add(
        "netmiko",
        importlib.util.find_spec("netmiko") is not None,
        _("switch driver"),
        "scripts/setup",
    )
    for tool, pkg, required in (
        ("ovs-vsctl", "openvswitch-switch", False),
        ("podman", "podman", False),
        ("runc", "runc", False),
        ("ip", "iproute2", True),
        ("ping", "iputils-ping", False),
        ("wireguard-go", "wireguard-go", False),
        ("wg", "wireguard-tools", False),
    ):
        path = shutil.which(tool)
        add(tool, path is not None, path or _("not found"), f"apt-get install -y {pkg}", required)
    add(
        N_("root (for the lab)"),
        os.geteuid() == 0,
        f"uid {os.geteuid()}",
        _("run the lab as root"),
        False,
    )
    from dcctl.lab import host

    # Host settings the lab depends on (and the ones it does not): shown, never changed here.
    for row in host.report():
        add(
            f"host {row['setting']}",
            row["status"] == "ok",
            _("{value}; lab needs {needs}: {why}").format(
                value=row["value"], needs=row["lab needs"], why=row["why"]
            ),
            _("dcctl lab up raises it (lab down restores it)"),
            False,
        )
    return rows
