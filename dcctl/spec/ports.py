"""Switch-port claims: which thing plugs into each switch port, one thing per port.

Why one home: the spec cross-checks (`dcctl.spec.checks`) refuse a spec whose
cameras, buildings, links and hypervisor uplinks share a port, and the lab
planner (`dcctl.lab.planners`) wires exactly those ports. Both must read a
`switch:port` reference the same way (the vendor's canonical port name, e.g.
`gi1/0/1` is `GigabitEthernet1/0/1`), or the lab would wire a port the spec
check never saw. The spec is the lower layer, so the rule lives here and the
lab imports it.
"""

from __future__ import annotations

from collections.abc import Iterable

from dcctl.i18n import _
from dcctl.spec.site import Switch, canonical_port

#: (switch name, canonical port name)
PortKey = tuple[str, str]


class PortClaimError(ValueError):
    """A `switch:port` reference names no port, or a port already in use.

    `hint` says how to fix it; it is None for an unknown switch, because each
    caller lists the switches it knows in its own style.
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class PortClaims:
    """The users of the ports of `switches`, claimed one reference at a time."""

    def __init__(self, switches: Iterable[Switch]) -> None:
        self._switches = {s.name: s for s in switches}
        self._ports = {name: set(s.port_names()) for name, s in self._switches.items()}
        self.users: dict[PortKey, str] = {}

    def resolve(self, ref: str) -> PortKey:
        """The canonical (switch, port) of `switch:port`; PortClaimError if there is none."""
        sw_name, _sep, port = ref.partition(":")
        sw = self._switches.get(sw_name)
        if sw is None:
            raise PortClaimError(_("unknown switch {switch!r}").format(switch=sw_name))
        canon = canonical_port(sw.vendor, port)
        if canon not in self._ports[sw_name]:
            raise PortClaimError(
                _("switch {switch} has no port {port!r}").format(switch=sw_name, port=port),
                _("declare it in the switch's ports"),
            )
        return sw_name, canon

    def claim(self, ref: str, user: str) -> PortKey:
        """Record `user` on the port `ref` names; PortClaimError if someone has it."""
        key = self.resolve(ref)
        holder = self.users.get(key)
        if holder is not None:
            raise PortClaimError(
                _("port {port} is already used by {user}").format(
                    port=f"{key[0]}:{key[1]}", user=holder
                ),
                _("each switch port connects one thing"),
            )
        self.users[key] = user
        return key

    def __contains__(self, key: object) -> bool:
        return key in self.users
