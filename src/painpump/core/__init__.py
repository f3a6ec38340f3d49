"""The domain layer: units, drug and device catalog, calculators, guideline checks and the pump
twin. Pure Python: no Django, no database, no I/O beyond reading its own packaged data files."""
