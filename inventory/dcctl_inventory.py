#!/usr/bin/env python3
"""Dynamic inventory script: ``ansible-playbook -i inventory/dcctl_inventory.py``.

Why a script: plain Ansible tooling (ansible-playbook, ansible-lint, ad-hoc
``ansible``) then sees exactly the inventory dcctl's engine builds. The spec is
read from ``DCCTL_SPEC`` (default ``examples/wonosobo``), Pulumi's ``vms`` output
optionally from the JSON file ``DCCTL_OUTPUTS``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dcctl.engines.ansible.inventory import build_inventory
from dcctl.spec.loader import load_spec


def main() -> int:
    """Print the whole inventory (``--list``) or one host's vars (``--host``)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--host")
    args = parser.parse_args()
    spec = load_spec(os.environ.get("DCCTL_SPEC", "examples/wonosobo"))
    outputs_file = os.environ.get("DCCTL_OUTPUTS")
    outputs = json.loads(Path(outputs_file).read_text()) if outputs_file else None
    inventory = build_inventory(spec, outputs)
    if args.host:
        print(json.dumps(inventory["_meta"]["hostvars"].get(args.host, {})))
    else:
        print(json.dumps(inventory, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
