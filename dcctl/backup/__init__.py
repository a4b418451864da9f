"""Backups of every OPD's data: repositories per OPD, records of backups and drills (issue 18)."""
