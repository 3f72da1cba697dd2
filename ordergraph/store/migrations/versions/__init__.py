"""Migration scripts, one per revision, written by hand to match ``store/tables.py``."""
