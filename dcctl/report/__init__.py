"""Read-only views of the spec for people: inventory tables and reports."""
