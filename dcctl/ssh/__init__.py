"""SSH trust: the host keys dcctl pins per target, and the devices it logs in to."""
