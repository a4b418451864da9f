"""From a validated spec to the desired state of every layer, and its diff."""
