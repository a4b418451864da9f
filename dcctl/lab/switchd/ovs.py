"""Thin ovs-vsctl / ovs-ofctl wrapper that makes OVS ports do what the switch CLI says.

Why: the lab's switches are Open vSwitch bridges with the userspace (netdev)
datapath, the only thing on this kernel that does real 802.1Q switching. Every
call is an argument list (never a shell string) with a timeout, and every apply
sets the port's whole desired state, so re-applying is harmless and a port that
was re-created by a lab rebuild converges on the next apply.

Mapping (see `PortSettings`):
  access V        vlan_mode=access tag=V, trunks cleared
  trunk T, no N   vlan_mode=trunk trunks=T, tag cleared (untagged frames dropped)
  trunk T, N      vlan_mode=native-untagged tag=N trunks=T
  transparent     tag, trunks and vlan_mode cleared (OVS default: every VLAN)
  parked          vlan_mode=access tag=4095 plus OpenFlow no-forward; 4095 is the
                  802.1Q-reserved VID no config can use, and no-forward stops two
                  parked ports from talking to each other inside it
  admin down      `ovs-ofctl mod-port BR P down` (the peer veth loses carrier)
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence

from dcctl.lab.switchd.state import PARK_VLAN, BackendError, PortSettings


class Ovs:
    """Backend for one OVS bridge."""

    def __init__(
        self,
        bridge: str,
        timeout: float = 10.0,
        vsctl: str = "ovs-vsctl",
        ofctl: str = "ovs-ofctl",
    ) -> None:
        self.bridge = bridge
        self.timeout = timeout
        self.vsctl = vsctl
        self.ofctl = ofctl

    def _run(self, argv: list[str]) -> str:
        try:
            proc = subprocess.run(
                argv, capture_output=True, text=True, timeout=self.timeout + 5, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise BackendError(f"{argv[0]}: {exc}") from exc
        if proc.returncode != 0:
            raise BackendError(f"{' '.join(argv)}: {proc.stderr.strip() or proc.returncode}")
        return proc.stdout

    def _vsctl(self, *args: str) -> str:
        return self._run([self.vsctl, f"--timeout={int(self.timeout)}", *args])

    def _ofctl(self, *args: str) -> str:
        return self._run([self.ofctl, f"--timeout={int(self.timeout)}", *args])

    @staticmethod
    def vsctl_args(port: str, s: PortSettings) -> list[str]:
        """ovs-vsctl arguments that set the port's VLAN state (pure, for tests)."""
        clear_tag = ["--", "clear", "port", port, "tag"]
        clear_trunks = ["--", "clear", "port", port, "trunks"]
        if s.kind == "access" and s.vlan is not None:
            return ["set", "port", port, "vlan_mode=access", f"tag={s.vlan}", *clear_trunks]
        if s.kind == "trunk" and s.trunks:
            trunks = "trunks=" + ",".join(str(v) for v in sorted(s.trunks))
            if s.vlan is not None:
                return ["set", "port", port, "vlan_mode=native-untagged", f"tag={s.vlan}", trunks]
            return ["set", "port", port, "vlan_mode=trunk", trunks, *clear_tag]
        if s.kind == "transparent":
            return ["clear", "port", port, "tag", "trunks", "vlan_mode"]
        return ["set", "port", port, "vlan_mode=access", f"tag={PARK_VLAN}", *clear_trunks]

    def apply(self, port: str, settings: PortSettings) -> None:
        self._vsctl(*self.vsctl_args(port, settings))
        forward = settings.kind != "parked"
        self._ofctl("mod-port", self.bridge, port, "forward" if forward else "no-forward")
        self._ofctl("mod-port", self.bridge, port, "up" if settings.admin_up else "down")

    def link_states(self, ports: Sequence[str]) -> dict[str, bool]:
        out = self._vsctl("--format=json", "--columns=name,link_state", "list", "Interface")
        try:
            table = json.loads(out)
        except ValueError as exc:
            raise BackendError(f"ovs-vsctl list Interface: {exc}") from exc
        wanted = set(ports)
        states: dict[str, bool] = {}
        for name, link in table.get("data", []):
            if name in wanted:
                states[name] = link == "up"
        return states
