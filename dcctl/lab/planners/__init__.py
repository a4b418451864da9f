"""One planner per section of the lab plan. `fabric`: switches and links, hypervisor
nodes, the gateway's networks, management, WAN, unplugged ports, the switch daemons
and the credentials. `opds`: each OPD's buildings, offices and cameras, and the VPN
port forward.

Why sections: each one is read and reviewed on its own (the naming scheme is in
`dcctl.lab.topology`'s docstring), while `topology.build_plan` calls them in one fixed
order, so the plan (and `lab.json`, and the names `down` finds) stays deterministic.
The planners share a `wiring.Wiring`: the plan being built, the switch and port
numbers that make interface names, and the port claims, read by the spec's own rule
(`dcctl.spec.ports`), so the lab wires exactly the ports the spec check accepted.
"""
