#!/usr/bin/python3
"""Export WireGuard handshake ages per office for node exporter's textfile collector.

Why this exists: a tunnel can be "up" as an interface while an office has been
silent for hours; the latest handshake per peer is the honest signal. Node
exporter on the hub already runs, so a small timer writes
``wireguard_latest_handshake_seconds{interface,office,opd}`` (a UNIX timestamp,
0 = never) into its textfile directory, and Prometheus alerts when it gets old.

Why peers are mapped to offices by tunnel address rather than by public key: the
hub's peer for an office always allows that office's tunnel address (/32), and
that address never changes, while keys are rotated (``dcctl vpn rotate``). A
``public_key`` given in the offices file is used first when present.

Standalone on purpose (stdlib only, system python3): it runs on the hub, which
has no dcctl installed.

    wg_exporter.py --offices /etc/dcctl/wg-offices.json \
        --output /var/lib/prometheus/node-exporter/wireguard.prom [--wg /usr/bin/wg]
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Peer:
    interface: str
    public_key: str
    latest_handshake: int = 0
    allowed: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = field(default_factory=list)


def parse(handshakes: str, allowed_ips: str) -> dict[str, Peer]:
    """``wg show all latest-handshakes`` and ``wg show all allowed-ips`` -> peers by key."""
    peers: dict[str, Peer] = {}
    for line in handshakes.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2].isdigit():
            peers[parts[1]] = Peer(parts[0], parts[1], int(parts[2]))
    for line in allowed_ips.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        peer = peers.setdefault(parts[1], Peer(parts[0], parts[1]))
        for item in parts[2:]:
            try:
                peer.allowed.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                continue  # "(none)"
    return peers


def match(office: dict[str, str], peers: dict[str, Peer]) -> Peer | None:
    """The peer of ``office``: by public key if given, else the most specific allowed IP."""
    key = office.get("public_key")
    if key and key in peers:
        return peers[key]
    addr = ipaddress.ip_address(office["tunnel_address"])
    best: tuple[int, Peer] | None = None
    for peer in peers.values():
        for net in peer.allowed:
            if (
                addr.version == net.version
                and addr in net
                and (best is None or net.prefixlen > best[0])
            ):
                best = (net.prefixlen, peer)
    return best[1] if best else None


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(offices: list[dict[str, str]], peers: dict[str, Peer], up: bool) -> str:
    """The textfile: one series per office of the spec (0 when no peer or no handshake)."""
    lines = [
        "# HELP wireguard_latest_handshake_seconds UNIX time of the latest handshake "
        "with the office's peer (0: never).",
        "# TYPE wireguard_latest_handshake_seconds gauge",
    ]
    mapped: set[str] = set()
    for office in offices:
        peer = match(office, peers)
        if peer is not None:
            mapped.add(peer.public_key)
        labels = (
            f'interface="{_label(peer.interface if peer else "")}",'
            f'office="{_label(office["office"])}",opd="{_label(office["opd"])}"'
        )
        value = peer.latest_handshake if peer else 0
        lines.append(f"wireguard_latest_handshake_seconds{{{labels}}} {value}")
    lines += [
        "# HELP wireguard_unmapped_peers Peers on the hub that belong to no office of the spec.",
        "# TYPE wireguard_unmapped_peers gauge",
        f"wireguard_unmapped_peers {len(set(peers) - mapped)}",
        "# HELP wireguard_exporter_up 1 if `wg show` answered.",
        "# TYPE wireguard_exporter_up gauge",
        f"wireguard_exporter_up {1 if up else 0}",
    ]
    return "\n".join(lines) + "\n"


def _wg(wg: str, what: str) -> str:
    return subprocess.run(
        [wg, "show", "all", what], capture_output=True, text=True, check=True, timeout=20
    ).stdout


def write_atomic(path: Path, text: str) -> None:
    """Node exporter must never read a half-written file: write, then rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".wireguard.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--offices", type=Path, required=True)
    p.add_argument("--output", type=Path, required=True)
    p.add_argument("--wg", default="wg")
    args = p.parse_args(argv)
    offices = json.loads(args.offices.read_text(encoding="utf-8"))
    try:
        peers = parse(_wg(args.wg, "latest-handshakes"), _wg(args.wg, "allowed-ips"))
        up = True
    except (OSError, subprocess.SubprocessError) as exc:
        # No tunnel answering is exported as "never", so the alerts fire.
        print(f"wg_exporter: wg show failed: {exc}", file=sys.stderr)
        peers, up = {}, False
    write_atomic(args.output, render(offices, peers, up))
    return 0


if __name__ == "__main__":
    sys.exit(main())
