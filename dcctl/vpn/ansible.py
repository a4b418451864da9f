"""Role variables for the WireGuard hub and the Linux office routers, from the spec.

Why here and not in the roles: the hub's peer list, each office's AllowedIPs and
the hub firewall all derive from one fact of the spec (an office belongs to one
OPD and may reach only that OPD's networks, ``desired_state(spec)["vpn"]``).
Computing them in Python keeps the roles dumb, makes the plan show exactly what
the hub will allow, and lets unit tests check the isolation without a tunnel.

Secrets: the hub's and the Linux offices' private keys go to ``RoleVars.secret``
only (ansible-runner extravars, used by ``no_log`` tasks). MikroTik offices get
their config from ``dcctl vpn render`` instead; their private keys never enter
an Ansible run.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dcctl.engines.ansible.vars import RoleVars, role_default
from dcctl.i18n import _
from dcctl.plan.desired import DesiredState, desired_state
from dcctl.spec.loader import Spec
from dcctl.spec.site import ADMIN_USER
from dcctl.targets import Target
from dcctl.vpn.keystore import HUB, KeyStore, keystore_path

__all__ = [
    "HUB_INTERFACE",
    "OFFICE_GROUP",
    "OFFICE_INTERFACE",
    "Peer",
    "build_role_vars",
    "office_host",
    "peers",
    "prepare",
    "role_vars",
]

#: WireGuard interface names: unique per host (wireguard-go's UAPI socket is per name).
#: They and the keepalive are the roles' defaults (their argument specs are the one
#: home of the values); a MikroTik office gets the same (dcctl.vpn.routeros).
HUB_INTERFACE: str = role_default("vpn_hub", "vpn_hub_interface")
OFFICE_INTERFACE: str = role_default("vpn_office", "vpn_office_interface")
OFFICE_GROUP = "vpn_office"
KEEPALIVE_S: int = role_default("vpn_office", "vpn_office_keepalive")


@dataclass(frozen=True)
class Peer:
    """One remote office as the hub sees it (no secrets)."""

    key: str  # "opd/office"
    opd: str
    name: str
    router: str  # linux | mikrotik
    wan_address: str
    tunnel_address: str
    lan_prefix: str
    allowed_networks: tuple[str, ...]  # this office's OPD networks, nothing else
    public_key: str

    @property
    def sources(self) -> list[str]:
        """What the office sends from: its tunnel address and its LAN."""
        return [f"{self.tunnel_address}/32", self.lan_prefix]


def hub_facts(spec: Spec) -> dict[str, Any]:
    """The hub's tunnel address (IPAM's ``vpn/hub``), pool, endpoint and port."""
    vpn = spec.site.vpn
    if vpn is None:
        raise ValueError(_("the Site has no vpn hub"))
    alloc = spec.allocation
    pool = ipaddress.ip_network(alloc.prefixes.get("vpn/tunnel", vpn.tunnel_pool))
    hub = alloc.addresses.get("vpn/hub") or str(pool.network_address + 1)
    return {
        "vm": vpn.vm,
        "endpoint": vpn.endpoint,
        "listen_port": int(vpn.listen_port),
        "tunnel_pool": str(pool),
        "address": hub,
        "cidr": f"{hub}/{pool.prefixlen}",
    }


def open_keystore(
    spec: Spec,
    state_dir: Path,
    target: Target | str,
    state: DesiredState | None = None,
    *,
    create: bool = True,
) -> KeyStore:
    """The keystore of ``target``, with a key pair for the hub and every office.

    ``create=False`` (plans, check runs, the inventory script) writes nothing:
    pairs the store lacks are made in memory only, as stand-ins for the ones
    the first apply (or ``dcctl vpn keys init``) creates.
    """
    store = KeyStore(keystore_path(state_dir, target))
    store.ensure([HUB, *(state or desired_state(spec))["vpn"]], persist=create)
    return store


def prepare(spec: Spec, state: DesiredState, state_dir: Path, target: Target) -> list[str]:
    """Before an apply's hosts run: create the key pairs the spec needs (the only writer)."""
    if spec.site.vpn is None:
        return []
    store = KeyStore(keystore_path(state_dir, target))
    made = store.ensure([HUB, *state["vpn"]])
    return [_("created WireGuard key pairs: {names}").format(names=", ".join(made))] if made else []


def peers(spec: Spec, store: KeyStore, state: DesiredState | None = None) -> list[Peer]:
    """Every office of the spec, sorted by key, with its public key from ``store``."""
    out = []
    for key, office in sorted((state or desired_state(spec))["vpn"].items()):
        opd, _, name = key.partition("/")
        out.append(
            Peer(
                key=key,
                opd=opd,
                name=name,
                router=office["router"],
                wan_address=office["wan_address"],
                tunnel_address=office["tunnel_address"],
                lan_prefix=office["lan_prefix"],
                allowed_networks=tuple(office["allowed_networks"]),
                public_key=store.public_key(key),
            )
        )
    return out


def office_host(key: str) -> str:
    """Inventory name of a Linux office router: ``office-dinkes-pkm-kertek``."""
    return "office-" + key.replace("/", "-")


def office_allowed_ips(hub: dict[str, Any], peer: Peer) -> list[str]:
    """What an office routes into the tunnel: the hub's tunnel address and its OPD's networks."""
    return [f"{hub['address']}/32", *peer.allowed_networks]


def role_vars(spec: Spec, state: DesiredState, state_dir: Path, target: Target) -> RoleVars:
    """Variables of the ``vpn_hub`` and ``vpn_office`` roles (see the module docstring)."""
    if spec.site.vpn is None:
        return RoleVars()
    # Reads only: an apply created the keys before (prepare); a plan or check run
    # works with stand-ins and writes nothing.
    store = open_keystore(spec, state_dir, target, state, create=False)
    return build_role_vars(hub_facts(spec), peers(spec, store, state), store)


def build_role_vars(hub: dict[str, Any], all_peers: list[Peer], store: KeyStore) -> RoleVars:
    """The RoleVars of a hub and its peers; split out so a lab test can use its own addresses."""
    hub_pub = store.public_key(HUB)
    public: dict[str, Any] = {
        "vpn_hub_interface": HUB_INTERFACE,
        "vpn_hub_address": hub["cidr"],
        "vpn_hub_listen_port": hub["listen_port"],
        "vpn_hub_tunnel_pool": hub["tunnel_pool"],
        "vpn_hub_public_key": hub_pub,
        "vpn_hub_peers": [
            {
                "name": p.key,
                "opd": p.opd,
                "router": p.router,
                "public_key": p.public_key,
                "tunnel_address": p.tunnel_address,
                "lan_prefix": p.lan_prefix,
                # AllowedIPs on the hub: what this peer may send from / receive for.
                "allowed_ips": p.sources,
                # The firewall: the only destinations this office may reach.
                "allowed_networks": list(p.allowed_networks),
            }
            for p in all_peers
        ],
    }
    secret: dict[str, Any] = {
        "vpn_hub_private_key": store.pair(HUB).private,
        "vpn_office_private_keys": {},
    }
    hosts: dict[str, dict[str, Any]] = {}
    for p in all_peers:
        if p.router != "linux":
            continue
        host = office_host(p.key)
        secret["vpn_office_private_keys"][host] = store.pair(p.key).private
        hosts[host] = {
            # Lab and production alike: dcctl reaches an office router on its WAN
            # address (the lab routes the WAN addresses from the host via the gateway).
            "ansible_host": p.wan_address,
            "ansible_user": ADMIN_USER,
            "opd": p.opd,
            "office": p.name,
            "vpn_office_interface": OFFICE_INTERFACE,
            "vpn_office_address": f"{p.tunnel_address}/32",
            "vpn_office_lan_prefix": p.lan_prefix,
            "vpn_office_public_key": p.public_key,
            "vpn_office_hub_endpoint": hub["endpoint"],
            "vpn_office_hub_public_key": hub_pub,
            "vpn_office_allowed_ips": office_allowed_ips(hub, p),
            "vpn_office_keepalive": KEEPALIVE_S,
        }
    groups = {OFFICE_GROUP: sorted(hosts)} if hosts else {}
    return RoleVars(public=public, secret=secret, hosts=hosts, groups=groups)
