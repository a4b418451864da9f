"""What `lab up` checks before it changes anything: root, the host's tools, GStreamer for
the cameras, the switch daemon, and that no other lab of the spec holds the addresses.

Why first and apart: each of these would otherwise surface half-way through `up` as
a confusing kernel or subprocess error after some of the lab was built; here each
one is a LabError whose hint names the package or command that fixes it.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

from dcctl.i18n import _
from dcctl.lab import net
from dcctl.lab.base import LabError
from dcctl.lab.plan import LabPlan
from dcctl.lab.topology import IF_PREFIX, LAB_ID_RE

SYSTEM_PYTHON = "/usr/bin/python3"

#: command -> Debian package that provides it
TOOLS: dict[str, str] = {
    "ip": "iproute2",
    "ovs-vsctl": "openvswitch-switch",
    "ovs-ofctl": "openvswitch-switch",
    "ethtool": "ethtool",
    "ssh-keygen": "openssh-client",
}
GST_PACKAGES = (
    "python3-gi",
    "gir1.2-gst-rtsp-server-1.0",
    "gstreamer1.0-plugins-good",
    "gstreamer1.0-plugins-ugly",
)
_GST_CHECK = (
    "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0'); "
    "from gi.repository import Gst, GstRtspServer; Gst.init(None); "
    "assert Gst.ElementFactory.find('x264enc'), 'x264enc'; "
    "assert Gst.ElementFactory.find('rtph264pay'), 'rtph264pay'"
)


def require_root() -> None:
    if os.geteuid() != 0:
        raise LabError(
            _(
                "dcctl lab needs root: it creates network namespaces, veth pairs and "
                "Open vSwitch bridges"
            ),
            _("run it as root, e.g. `sudo .venv/bin/dcctl lab up`"),
        )


def missing_tools() -> dict[str, str]:
    return {cmd: pkg for cmd, pkg in TOOLS.items() if net.which(cmd) is None}


def gst_problem() -> str | None:
    """Why the system python cannot run a camera, or None if it can."""
    if not Path(SYSTEM_PYTHON).exists():
        return _("{path} is missing").format(path=SYSTEM_PYTHON)
    try:
        proc = subprocess.run(
            [SYSTEM_PYTHON, "-c", _GST_CHECK], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        return lines[-1] if lines else _("exit code {code}").format(code=proc.returncode)
    return None


def apt_hint(packages: Iterable[str]) -> str:
    return "apt-get install -y " + " ".join(sorted(set(packages)))


def preflight() -> None:
    require_root()
    missing = missing_tools()
    if not Path(net.OVS_CTL).exists():
        missing["ovs-ctl"] = "openvswitch-switch"
    if missing:
        raise LabError(
            _("missing commands: {commands}").format(commands=", ".join(sorted(missing))),
            apt_hint(missing.values()),
        )


def switchd_available() -> bool:
    """Whether the switch daemon (`python -m dcctl.lab.switchd`) is installed."""
    try:
        return importlib.util.find_spec("dcctl.lab.switchd.__main__") is not None
    except (ImportError, ValueError):
        return False


def address_holder(plan: LabPlan) -> tuple[str, str, str] | None:
    """(lab id, prefix, interface) of another lab that holds this lab's root routes.

    Labs of one spec share their management and WAN addresses, and the root
    namespace (where dcctl connects from) can route them to one lab only. A
    second lab of the spec would come up with its switches unreachable, which
    looks like a broken switch, not a busy machine; so `up` refuses instead.
    """
    have = net.routes(None)
    wanted = [r.dst for r in plan.routes if r.netns is None]
    if plan.mgmt is not None:
        wanted.insert(0, str(ipaddress.ip_network(plan.mgmt.prefix)))
    for dst in wanted:
        dev = str(have.get(dst, {}).get("dev", ""))
        other = dev[len(IF_PREFIX) : len(IF_PREFIX) + 3]
        if dev.startswith(IF_PREFIX) and LAB_ID_RE.match(other) and other != plan.lab_id:
            return other, dst, dev
    return None


def require_addresses_free(plan: LabPlan) -> None:
    """Refuse, before anything is built, when another lab holds this lab's addresses."""
    held = address_holder(plan)
    if held:
        other, dst, dev = held
        raise LabError(
            _(
                "lab {other} is up with the same addresses (the route to {dst} goes via its "
                "{dev}); one lab of a spec at a time: nothing was built"
            ).format(other=repr(other), dst=dst, dev=dev),
            hint=_(
                "take it down first: dcctl lab down --lab-id {other} (its saved configs stay)"
            ).format(other=other),
        )
