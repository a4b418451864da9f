"""Hand-run entry point of the regency stack (``pulumi up`` in this folder).

dcctl itself passes ``regency_program`` to the Automation API inline and never
runs this file; it exists so an engineer can preview or repair a stack with the
plain ``pulumi`` CLI and get exactly the same program from the same spec.
"""

from __future__ import annotations

import pulumi

from dcctl.engines.pulumi.program import regency_program, site_inputs
from dcctl.plan.desired import desired_state
from dcctl.spec import load_spec

config = pulumi.Config("dcctl")
spec = load_spec(config.require("spec"))
target = config.get("target") or spec.site.hypervisors.type
regency_program(desired_state(spec), site_inputs(spec), target)
