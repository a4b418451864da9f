"""Hand-run entry point of the regency stack (``pulumi up`` in this folder).

dcctl itself passes ``regency_program`` to the Automation API inline and never
runs this file; it exists so an engineer can preview or repair a stack with the
plain ``pulumi`` CLI and get exactly the same program from the same spec.
"""

from __future__ import annotations

import pulumi

from dcctl import targets
from dcctl.engines.pulumi.layer import program_for
from dcctl.plan.desired import desired_state
from dcctl.spec import load_spec

config = pulumi.Config("dcctl")
spec = load_spec(config.require("spec"))
# `dcctl:target` is a dcctl target name (prod, lab), as `dcctl apply --target` takes it;
# the target picks the hypervisor, exactly as dcctl does.
target = targets.get(config.get("target") or "prod")
program_for(spec, target, desired_state(spec))()
