"""Remote offices over WireGuard: keys, hub and office role variables, MikroTik configs."""
