"""Database plumbing below the clinic: the SQLite backend and the read-only scope of a request
that only reads."""
