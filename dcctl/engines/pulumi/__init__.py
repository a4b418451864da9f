"""Pulumi engine integration for dcctl."""
