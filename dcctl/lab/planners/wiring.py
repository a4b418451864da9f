"""The state the section planners share while one plan is built: the plan, the switch and
port numbers that make interface names, and who holds each switch port.

Why the spec's claim rule (`dcctl.spec.ports`): the lab must wire exactly the ports the
spec check accepted, read the same way (the vendor's canonical port name).
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from dataclasses import dataclass, field

from dcctl.lab.plan import LabPlan, LabPlanError, VethEnd
from dcctl.spec import Spec
from dcctl.spec.ports import PortClaimError, PortClaims, PortKey

FACTORY_VLAN = 1
WAN_PREFIX_LEN = 24
BUILDING_FIRST_HOST = 10
OFFICE_HOST = 10


def host_at(prefix: str, n: int) -> str:
    net = ipaddress.ip_network(prefix)
    if n < 0:
        return str(net.broadcast_address + n)
    return str(net.network_address + n)


def cidr(address: str, prefix: str) -> str:
    return f"{address}/{ipaddress.ip_network(prefix).prefixlen}"


@dataclass
class Wiring:
    """What the section planners share while one plan is built."""

    spec: Spec
    plan: LabPlan
    claims: PortClaims
    sw_index: dict[str, int] = field(default_factory=dict)
    port_index: dict[PortKey, int] = field(default_factory=dict)
    office_no: int = 0  # offices are numbered across OPDs, in spec order
    hub_ip: str | None = None  # the VPN hub's public address, on the WAN
    #: switch -> its virtual ports (port name, OVS port): an AP's virtual APs
    virtual: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    #: switch -> (radio port, radio link name)
    air: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def start(cls, spec: Spec, plan: LabPlan) -> Wiring:
        w = cls(spec, plan, PortClaims(spec.site.switches))
        for i, sw in enumerate(spec.site.switches):
            w.sw_index[sw.name] = i
            for j, port in enumerate(sw.port_names()):
                w.port_index[(sw.name, port)] = j
        return w

    @property
    def p(self) -> str:
        return self.plan.prefix

    @property
    def mgmt_ns(self) -> str:
        return f"{self.p}-mgmt"

    @property
    def wan_ns(self) -> str:
        return f"{self.p}-wan"

    @property
    def wan_bridge(self) -> str:
        return f"{self.p}wbr"

    def claim(self, ref: str, user: str) -> PortKey:
        """Canonical (switch, port) of `sw:port`; each port may have one user only."""
        try:
            return self.claims.claim(ref, user)
        except PortClaimError as exc:
            raise LabPlanError(f"{user}: {exc}") from None

    def port_if(self, key: PortKey) -> str:
        return f"{self.bridge_of(key)}p{self.port_index[key]}"

    def bridge_of(self, key: PortKey) -> str:
        return f"{self.p}s{self.sw_index[key[0]]}"

    def switch_end(self, key: PortKey) -> VethEnd:
        return VethEnd(self.port_if(key), ovs_bridge=self.bridge_of(key), ovs_tag=FACTORY_VLAN)
