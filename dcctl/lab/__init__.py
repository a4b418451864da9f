"""Lab: a rehearsal data center built from namespaces, Open vSwitch and emulated devices."""
