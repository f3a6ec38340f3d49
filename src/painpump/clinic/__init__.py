"""The clinic service: patients, the therapy pathway, refills and scheduling on a database, every
clinical change a transaction with its audit record; every number computed by painpump.core."""
