"""The demo clinic: its plan (synthetic patients drawn from a seed) and its seeding through the
clinic's own services."""
