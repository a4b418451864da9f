#!/usr/bin/env python3
"""Dynamic inventory script: ``ansible-playbook -i inventory/dcctl_inventory.py``.

Why a script: plain Ansible tooling (ansible-playbook, ansible-lint, ad-hoc
``ansible``) then sees exactly the inventory dcctl's hosts layer builds: the VMs
(spec plus Pulumi outputs) joined with the hosts and groups the domains' role-var
providers add, such as the Linux office routers of the VPN (group ``vpn_office``).
It is built by the hosts layer's own :func:`inventory_for` over
:func:`~dcctl.engines.ansible.vars.collect`, so the two cannot drift apart.

The spec is read from ``DCCTL_SPEC`` (default ``examples/wonosobo``), Pulumi's
``vms`` output optionally from the JSON file ``DCCTL_OUTPUTS``. The providers are
asked for production (``DCCTL_TARGET``, default ``prod``), as ``dcctl apply``
would: they need that target's credentials (and the secrets passphrase once an
apply made the VPN keystore). The script only reads: keys no apply created yet are
stand-ins in memory, and no keystore or passphrase file is written. Only hosts and
groups are printed; the providers' variables, secret or not, stay in this process.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dcctl import targets
from dcctl.engines.ansible.layer import inventory_for
from dcctl.engines.ansible.vars import collect
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
    target = targets.get(os.environ.get("DCCTL_TARGET", "prod"))
    role_vars = collect(spec, spec.state_dir, target)
    # Strict host key checking against the target's pinned keys, as `dcctl apply` does.
    inventory = inventory_for(spec, outputs, role_vars, known_hosts=target.known_hosts(spec))
    if args.host:
        print(json.dumps(inventory["_meta"]["hostvars"].get(args.host, {})))
    else:
        print(json.dumps(inventory, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
