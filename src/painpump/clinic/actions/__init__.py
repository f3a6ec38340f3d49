"""The clinic's writes, one module per area: each use case checks the role, locks what it
changes, lets core decide, records and audits in one transaction."""
