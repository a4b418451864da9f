"""`python -m dcctl.lab.switchd --config FILE.json`: run one lab switch's management daemon.

A module entry point (not a dcctl sub-command) because the lab starts one
daemon per switch inside a management network namespace with
`ip netns exec NS python -m dcctl.lab.switchd ...`, and that must work without
the full CLI's imports.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from pydantic import ValidationError

from dcctl.lab.switchd.state import MemoryBackend, load_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dcctl.lab.switchd", description="Lab switch management daemon"
    )
    parser.add_argument("--config", required=True, type=Path, help="switch JSON config")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])
    parser.add_argument(
        "--no-ovs", action="store_true", help="keep port state in memory (CLI development)"
    )
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.config)
        cfg.read_password()
    except (OSError, ValueError, ValidationError) as exc:
        print(f"switchd: {args.config}: {exc}", file=sys.stderr)
        return 2

    from dcctl.lab.switchd.server import serve, setup_logging

    setup_logging(cfg.state_dir, args.log_level)
    asyncio.run(serve(cfg, MemoryBackend() if args.no_ovs else None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
