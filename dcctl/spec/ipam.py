"""IP address and VLAN management with a lock file, so numbering never moves.

IPAM knows nothing of OPDs, switches or Pulumi: callers hand it keyed requests
(`dinkes/servers` wants a VLAN and a /24 from `server_pool`, `dinkes/servers/simpus`
wants an address in that /24). Allocation is deterministic: pinned values first,
then values already in the lock file, then new keys in sorted order take the
lowest free value. Keys no longer requested are released; nothing else moves,
so adding or removing an OPD never renumbers another one.
"""

from __future__ import annotations

import bisect
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import netaddr
import yaml

from dcctl.i18n import N_, _

LOCK_FILE = "dcctl.lock.yaml"
_LOCK_HEADER = (
    "# IPAM allocations made by dcctl. Commit this file with the spec change that\n"
    "# caused it: it keeps every VLAN, prefix and address where it was, and\n"
    "# every VM disk at least as large as it was.\n"
)


@dataclass(frozen=True)
class VlanRequest:
    key: str
    pin: int | None = None


@dataclass(frozen=True)
class PrefixRequest:
    key: str
    pool: str | None  # None: a prefix the site pins outside the pools (the VPN tunnel pool)
    pin: str | None = None


@dataclass(frozen=True)
class AddressRequest:
    key: str
    within: str  # key of a PrefixRequest
    first_host: int = 10  # hosts below this offset are reserved (gateway, infra)
    pin: str | None = None
    #: The key this request had before a rename (a VM's ``renamed_from``): its locked
    #: address moves to the new key, so a renamed VM keeps its address.
    was: str | None = None


@dataclass(frozen=True)
class Problem:
    key: str
    message: str
    hint: str | None = None


_SECTION = re.compile(r"(vlans|prefixes|addresses|disks):( \{\})?")
#: A key with a '/' is a string to every YAML resolver (no bool, number, null or date
#: has one); values are decimal integers without a leading zero, or dotted IPv4
#: addresses and prefixes, which YAML also reads as plain strings.
_ENTRY = {
    "vlans": re.compile(r"  ([A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+): (0|[1-9][0-9]{0,8})"),
    "disks": re.compile(r"  ([A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+): (0|[1-9][0-9]{0,8})"),
    "prefixes": re.compile(
        r"  ([A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+): ([0-9]{1,3}(?:\.[0-9]{1,3}){3}/[0-9]{1,2})"
    ),
    "addresses": re.compile(
        r"  ([A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+): ([0-9]{1,3}(?:\.[0-9]{1,3}){3})"
    ),
}


def _read_as_written(path: Path) -> dict[str, Any] | None:
    """The lock's data when the file is exactly in the form `Lock.render` writes; else None.

    A committed lock is nearly always dcctl's own output, and a ten-times regency's is
    22,000 lines that the general YAML reader takes a third of a second over (issue 17).
    Every line must be a header comment, ``version: 1``, a section or a ``  key: value``
    entry of that section's strict shape (no anchors, tags, flow or duplicates can pass);
    anything else (a hand edit, a merge conflict) returns None and the file is read as
    YAML with every limit and error of :func:`dcctl.spec.source.load_data`.
    """
    from dcctl.spec.source import MAX_FILE_BYTES

    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    data: dict[str, Any] = {}
    section: dict[str, Any] | None = None
    entry: re.Pattern[str] | None = None
    for line in text.split("\n"):
        if entry is not None and (m := entry.fullmatch(line)):
            key, value = m.groups()
            if key in section:  # type: ignore[operator]
                return None
            section[key] = value  # type: ignore[index]
        elif m := _SECTION.fullmatch(line):
            name = m.group(1)
            if name in data:
                return None
            section = data[name] = {}
            entry = None if m.group(2) else _ENTRY[name]
        elif line == "version: 1" and "version" not in data:
            data["version"] = 1
            section = entry = None
        elif not (line == "" or (line.startswith("#") and section is None and not data)):
            return None
    if not text.endswith("\n") or "\n\n" in text:
        return None
    return data


@dataclass
class Lock:
    vlans: dict[str, int] = field(default_factory=dict)
    prefixes: dict[str, str] = field(default_factory=dict)
    addresses: dict[str, str] = field(default_factory=dict)
    #: Disk size (GB) of every VM (``opd/vm``) as last locked: disks never shrink
    #: (:func:`dcctl.spec.compute.disk_shrink`), and this is what validation compares
    #: against. Not an IP allocation, but the same kind of fact: it must not move back.
    disks: dict[str, int] = field(default_factory=dict)

    @classmethod
    def read(cls, root: Path) -> Lock:
        """The lock file, read like a spec (size, alias, depth limits; no link out of root)."""
        from dcctl.files import safe_target
        from dcctl.spec.source import load_data

        path = root / LOCK_FILE
        if not path.exists() and not path.is_symlink():
            return cls()
        safe_target(path, root)
        data = _read_as_written(path)
        if data is None:
            data = load_data(path, LOCK_FILE) or {}
        if not isinstance(data, dict):
            raise ValueError(_("{file} is not a mapping").format(file=LOCK_FILE))
        return cls(
            vlans={str(k): int(v) for k, v in (data.get("vlans") or {}).items()},
            prefixes={str(k): str(v) for k, v in (data.get("prefixes") or {}).items()},
            addresses={str(k): str(v) for k, v in (data.get("addresses") or {}).items()},
            disks={str(k): int(v) for k, v in (data.get("disks") or {}).items()},
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "vlans": dict(sorted(self.vlans.items())),
            "prefixes": dict(sorted(self.prefixes.items())),
            "addresses": dict(sorted(self.addresses.items())),
            **({"disks": dict(sorted(self.disks.items()))} if self.disks else {}),
        }

    def render(self) -> str:
        return _LOCK_HEADER + yaml.safe_dump(self.to_dict(), sort_keys=False, width=200)

    def write(self, root: Path) -> bool:
        """Write the lock atomically under the spec root's lock; True if the file changed.

        Concurrent writers (two `dcctl lock`, a ticket render) take turns on the
        root's flock and each writes a unique temp file, so none fails or is torn.
        """
        from dcctl.files import Layout, atomic_write, locked, read_layout

        path = root / LOCK_FILE
        with locked(root):
            # A lock kept with CRLF (an engineer on Windows) stays CRLF: only changed
            # values show in review, never every line.
            layout = Layout()
            if path.exists() and not path.is_symlink():
                old, layout = read_layout(path)
                if old == self.render():
                    return False
            atomic_write(path, layout.apply(self.render()), root=root)
        return True


@dataclass
class Pool:
    prefix: str
    length: int


class _Used:
    """The address space taken so far: disjoint, merged ``[first, last]`` intervals.

    A sorted list with bisection rather than a ``netaddr.IPSet``: an IPSet re-compacts
    on every add, which made allocating a ten-times regency's 3,000 prefixes take
    seconds (issue 17); here an overlap test is a bisection, an add a list insert.
    """

    def __init__(self) -> None:
        self._first: dict[int, list[int]] = {}  # IP version -> sorted interval starts
        self._last: dict[int, list[int]] = {}  # IP version -> their ends

    def overlaps(self, net: netaddr.IPNetwork) -> bool:
        starts, ends = self._first.get(net.version, []), self._last.get(net.version, [])
        i = bisect.bisect_right(starts, net.last) - 1
        return i >= 0 and ends[i] >= net.first

    def add(self, net: netaddr.IPNetwork) -> None:
        starts = self._first.setdefault(net.version, [])
        ends = self._last.setdefault(net.version, [])
        first, last = net.first, net.last
        lo = bisect.bisect_left(ends, first - 1)  # first interval that touches or follows
        hi = bisect.bisect_right(starts, last + 1)  # past the last one that touches
        if lo < hi:
            first, last = min(first, starts[lo]), max(last, ends[hi - 1])
        starts[lo:hi] = [first]
        ends[lo:hi] = [last]


class _PrefixSpace:
    """Free-space tracker over one pool; lowest aligned free subnet first."""

    def __init__(self, pool: Pool, used: _Used) -> None:
        self.net = netaddr.IPNetwork(pool.prefix)
        self.length = pool.length
        self.used = used  # shared by every pool: whatever anyone holds is taken
        self._cursor = 0

    def allocate(self) -> netaddr.IPNetwork | None:
        if self.length < self.net.prefixlen:
            return None
        step = 2 ** (32 - self.length)
        count = 2 ** (self.length - self.net.prefixlen)
        base = int(self.net.network)
        for i in range(self._cursor, count):
            cand = netaddr.IPNetwork(f"{netaddr.IPAddress(base + i * step)}/{self.length}")
            if not self.used.overlaps(cand):
                self._cursor = i + 1
                return cand
        return None


@dataclass
class Allocation:
    vlans: dict[str, int]
    prefixes: dict[str, str]
    addresses: dict[str, str]
    disks: dict[str, int] = field(default_factory=dict)

    def lock(self) -> Lock:
        return Lock(dict(self.vlans), dict(self.prefixes), dict(self.addresses), dict(self.disks))

    def gateway(self, prefix_key: str) -> str:
        """The prefix's first host address (the OPD network's gateway)."""
        return first_host(self.prefixes[prefix_key])


#: VLANs no tenant ever gets: the default VLAN and the ones IOS reserves for
#: FDDI/Token Ring. The site adds its management VLAN (``allocate(reserved_vlans=)``).
RESERVED_VLANS: dict[int, str] = {
    1: N_("the default VLAN"),
    **{v: N_("reserved by switch vendors (1002-1005)") for v in range(1002, 1006)},
}


def allocate(
    lock: Lock,
    vlan_range: tuple[int, int],
    pools: dict[str, Pool],
    vlans: Iterable[VlanRequest],
    prefixes: Iterable[PrefixRequest],
    addresses: Iterable[AddressRequest],
    reserved: Iterable[str] = (),
    reserved_vlans: dict[int, str] | None = None,
    reserved_addresses: dict[str, str] | None = None,
) -> tuple[Allocation, list[Problem]]:
    """Allocate every request; return the allocation and all problems found.

    ``reserved_vlans`` (VLAN -> what holds it, on top of :data:`RESERVED_VLANS`) and
    ``reserved_addresses`` (address -> what holds it) are never handed out, neither
    to a pin nor by IPAM, whatever the lock or the pools say: a tenant on the
    management VLAN or on the DNS server's address is a tenant in the site's plane.
    """
    problems: list[Problem] = []
    no_vlans = {**RESERVED_VLANS, **(reserved_vlans or {})}
    out_v = _allocate_vlans(lock, vlan_range, list(vlans), problems, no_vlans)
    out_p = _allocate_prefixes(lock, pools, list(prefixes), list(reserved), problems)
    out_a = _allocate_addresses(lock, out_p, list(addresses), problems, reserved_addresses or {})
    return Allocation(out_v, out_p, out_a), problems


def _allocate_vlans(
    lock: Lock,
    rng: tuple[int, int],
    reqs: list[VlanRequest],
    problems: list[Problem],
    reserved: dict[int, str],
) -> dict[str, int]:
    owner: dict[int, str] = {}
    out: dict[str, int] = {}
    ordered = sorted(reqs, key=lambda r: r.key)
    # Values already handed out (the lock) are reality: they are claimed before
    # pins, so a new pin can never renumber someone else - it is reported instead.
    # A locked VLAN that became reserved (or left the range) is not reality to keep.
    for r in ordered:
        v = lock.vlans.get(r.key)
        if (
            r.pin is None
            and v is not None
            and rng[0] <= v <= rng[1]
            and v not in owner
            and v not in reserved
        ):
            owner[v] = r.key
            out[r.key] = v
    for r in ordered:
        if r.pin is None:
            continue
        if r.pin in reserved:
            problems.append(
                Problem(
                    r.key,
                    _("VLAN {vlan} is {what} and never given to a tenant").format(
                        vlan=r.pin, what=_(reserved[r.pin])
                    ),
                    _("pick a VLAN in ipam.vlan_range {first}-{last} or drop the pin").format(
                        first=rng[0], last=rng[1]
                    ),
                )
            )
            continue
        if not rng[0] <= r.pin <= rng[1]:
            problems.append(
                Problem(
                    r.key,
                    _("VLAN {vlan} is outside ipam.vlan_range {first}-{last}").format(
                        vlan=r.pin, first=rng[0], last=rng[1]
                    ),
                    _("pin a VLAN inside the range, or widen the range in the Site"),
                )
            )
            continue
        if r.pin in owner and owner[r.pin] != r.key:
            problems.append(
                Problem(
                    r.key,
                    _("VLAN {vlan} is already used by {user}").format(
                        vlan=r.pin, user=owner[r.pin]
                    ),
                    _("pick another VLAN or drop the pin"),
                )
            )
            continue
        owner[r.pin] = r.key
        out[r.key] = r.pin
    rest = [r for r in ordered if r.pin is None and r.key not in out]
    free = (v for v in range(rng[0], rng[1] + 1) if v not in owner and v not in reserved)
    for r in rest:
        v = next(free, None)
        if v is None:
            problems.append(
                Problem(
                    r.key,
                    _("VLAN range {first}-{last} is exhausted").format(first=rng[0], last=rng[1]),
                    _("widen ipam.vlan_range in the Site"),
                )
            )
            continue
        owner[v] = r.key
        out[r.key] = v
    return out


def _allocate_prefixes(
    lock: Lock,
    pools: dict[str, Pool],
    reqs: list[PrefixRequest],
    reserved: list[str],
    problems: list[Problem],
) -> dict[str, str]:
    taken: list[tuple[netaddr.IPNetwork, str]] = [(netaddr.IPNetwork(r), "site") for r in reserved]
    taken_set = _Used()
    for n, _key in taken:
        taken_set.add(n)
    spaces = {name: _PrefixSpace(pool, taken_set) for name, pool in pools.items()}
    out: dict[str, str] = {}

    def claim(key: str, net: netaddr.IPNetwork, what: str) -> bool:
        if taken_set.overlaps(net):
            other = next(k for n, k in taken if n in net or net in n or n == net)
            problems.append(
                Problem(
                    key,
                    _("{what} {net} overlaps {other}").format(what=what, net=net, other=other),
                    _("prefixes must not overlap; pick a free one or drop the pin"),
                )
            )
            return False
        taken.append((net, key))
        taken_set.add(net)
        out[key] = str(net)
        return True

    ordered = sorted(reqs, key=lambda r: r.key)
    # Locked prefixes first (see _allocate_vlans), then pins, then new requests.
    for r in ordered:
        old = lock.prefixes.get(r.key)
        if r.pin is not None or old is None:
            continue
        assert r.pool is not None  # only pinned requests have no pool
        net, pool = netaddr.IPNetwork(old), pools[r.pool]
        if (
            net.prefixlen == pool.length
            and net in spaces[r.pool].net
            and not taken_set.overlaps(net)
        ):
            claim(r.key, net, _("locked prefix"))
    for r in ordered:
        if r.pin is None:
            continue
        net = netaddr.IPNetwork(r.pin)
        if r.pool is not None and net not in spaces[r.pool].net:
            problems.append(
                Problem(
                    r.key,
                    _("pinned prefix {net} is outside ipam.{pool} {prefix}").format(
                        net=net, pool=r.pool, prefix=pools[r.pool].prefix
                    ),
                    _("pin a prefix inside ipam.{pool}, or drop the pin").format(pool=r.pool),
                )
            )
            continue
        claim(r.key, net, _("pinned prefix"))
    rest = [r for r in ordered if r.pin is None and r.key not in out]
    for r in rest:
        assert r.pool is not None  # only pinned requests have no pool
        net = spaces[r.pool].allocate()
        if net is None:
            pool = pools[r.pool]
            problems.append(
                Problem(
                    r.key,
                    _("{pool} {prefix} has no free /{length} left").format(
                        pool=r.pool, prefix=pool.prefix, length=pool.length
                    ),
                    _("enlarge ipam.{pool} or use a longer prefix length").format(pool=r.pool),
                )
            )
            continue
        claim(r.key, net, _("prefix"))
    return out


def address_value(text: str) -> tuple[int, int]:
    """(IP version, integer) of an address; dotted IPv4 by the C parser, else netaddr.

    Same acceptance as ``netaddr.IPAddress`` (strict dotted quads), at a fraction of
    its cost: a ten-times regency has 13,000 locked addresses (issue 17).
    """
    try:
        return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")
    except OSError:
        ip = netaddr.IPAddress(text)
        return ip.version, int(ip)


def prefix_range(text: str) -> tuple[int, int, int]:
    """(IP version, first, last) of a prefix as ``netaddr.IPNetwork`` reads it (host
    bits ignored); dotted IPv4 ``a.b.c.d/n`` without netaddr, anything else through it."""
    address, slash, length = text.partition("/")
    if slash and length.isdigit() and len(length) <= 2 and int(length) <= 32:
        try:
            value = int.from_bytes(socket.inet_pton(socket.AF_INET, address), "big")
        except OSError:
            pass
        else:
            size = 1 << (32 - int(length))
            first = value & ~(size - 1)
            return 4, first, first + size - 1
    net = netaddr.IPNetwork(text)
    return net.version, net.first, net.last


def first_host(prefix: str) -> str:
    """A prefix's first host address: its gateway (an OPD network's, the guest network's)."""
    version, first, last = prefix_range(prefix)
    if first + 1 > last:  # a /32: netaddr's own IndexError, as before
        return str(netaddr.IPNetwork(prefix)[1])
    return _text(version, first + 1)


def prefix_length(text: str) -> int:
    """The prefix length of `text` as ``netaddr.IPNetwork(text).prefixlen`` gives it."""
    version, first, last = prefix_range(text)
    return (32 if version == 4 else 128) - (last - first).bit_length()


def _text(version: int, value: int) -> str:
    if version == 4:
        return socket.inet_ntoa(value.to_bytes(4, "big"))
    return str(netaddr.IPAddress(value, version))


@dataclass(frozen=True)
class _Net:
    """A subnet as integers: what the address loop asks of it, without netaddr objects."""

    net: netaddr.IPNetwork
    version: int
    first: int
    last: int
    size: int
    #: None where netaddr has none (a /31 or /32)
    broadcast: int | None

    @classmethod
    def of(cls, text: str) -> _Net:
        net = netaddr.IPNetwork(text)
        b = net.broadcast
        return cls(net, net.version, net.first, net.last, net.size, None if b is None else int(b))

    def holds(self, version: int, value: int) -> bool:
        return version == self.version and self.first <= value <= self.last


def _allocate_addresses(
    lock: Lock,
    prefixes: dict[str, str],
    reqs: list[AddressRequest],
    problems: list[Problem],
    reserved: dict[str, str],
) -> dict[str, str]:
    out: dict[str, str] = {}
    used: dict[str, dict[int, str]] = {}
    ordered = [r for r in sorted(reqs, key=lambda r: r.key) if r.within in prefixes]
    nets = {within: _Net.of(prefixes[within]) for within in {r.within for r in ordered}}
    held = [(address_value(addr), what) for addr, what in reserved.items()]
    # Each subnet's gateway (its first host, where no request may start there: the
    # VPN hub owns .1 of the tunnel pool) and the site's reserved addresses are
    # taken before anything else, so neither a pin nor IPAM can land on them.
    lowest: dict[str, int] = {}
    for r in ordered:
        lowest[r.within] = min(lowest.get(r.within, r.first_host), r.first_host)
    for within in sorted(nets):
        n = nets[within]
        owner = used.setdefault(within, {})
        if n.size > 2 and lowest[within] >= 2:
            owner[n.first + 1] = _("the gateway of {net}").format(net=n.net)
        for (version, value), what in held:
            if n.holds(version, value):
                owner[value] = what
    # Locked addresses first (see _allocate_vlans), then pins, then new requests.
    for r in ordered:
        n, owner = nets[r.within], used.setdefault(r.within, {})
        old = lock.addresses.get(r.key)
        if old is None and r.was is not None:
            old = lock.addresses.get(r.was)
        if r.pin is None and old is not None:
            version, value = address_value(old)
            if (
                n.holds(version, value)
                and value not in (n.first, n.broadcast)
                and value not in owner
                and value >= n.first + r.first_host
            ):
                owner[value] = r.key
                out[r.key] = old
    for r in ordered:
        if r.pin is None:
            continue
        net, owner = nets[r.within].net, used[r.within]
        ip = netaddr.IPAddress(r.pin)
        if ip not in net or ip in (net.network, net.broadcast):
            what = (
                _("address {address} is the network address of {net}")
                if ip == net.network
                else _("address {address} is the broadcast address of {net}")
                if ip == net.broadcast
                else _("address {address} is not a host of {net}")
            )
            problems.append(
                Problem(
                    r.key,
                    what.format(address=ip, net=net),
                    _("use a host address in {net} or drop the pin").format(net=net),
                )
            )
        elif int(ip) in owner and owner[int(ip)] != r.key:
            problems.append(
                Problem(
                    r.key,
                    _("address {address} is already used by {user}").format(
                        address=ip, user=owner[int(ip)]
                    ),
                )
            )
        else:
            owner[int(ip)] = r.key
            out[r.key] = str(ip)
    for r in ordered:
        if r.pin is not None or r.key in out:
            continue
        n, owner = nets[r.within], used[r.within]
        start = n.first + r.first_host
        end = n.last - 1 if n.size > 2 else n.last  # a /31 or /32 has no broadcast
        found = next((i for i in range(start, end + 1) if i not in owner), None)
        if found is None:
            problems.append(
                Problem(
                    r.key,
                    _("no free address left in {net}").format(net=n.net),
                    _("use a shorter prefix length for this network"),
                )
            )
            continue
        owner[found] = r.key
        out[r.key] = _text(n.version, found)
    return out
