"""Default-deny VM firewalls: the inbound flows each VM needs, rendered from the spec."""
