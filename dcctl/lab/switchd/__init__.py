"""Lab switch: an Open vSwitch bridge driven by a vendor-style SSH CLI.

Why: dcctl configures Cisco IOS and MikroTik RouterOS switches with netmiko,
ntc-templates and hier-config. Rehearsing that against real 802.1Q forwarding
(OVS, userspace datapath) catches the mistakes that matter — a VLAN missing
from a trunk, an access port in a deleted VLAN, a change never written to
startup-config — before anyone touches the data center.

Modules: `state` (config model, faults, OVS sync; no SSH), `ovs` (ovs-vsctl /
ovs-ofctl wrapper), `ios` and `routeros` (dialects), `server` (asyncssh),
`__main__` (`python -m dcctl.lab.switchd --config FILE.json`).
"""
