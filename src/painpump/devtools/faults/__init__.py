"""Fault drills: the clinic service under SIGKILL in the middle of refills, PostgreSQL restarted
under load, a full disk and a read-only database, each checked for half-written refills, a broken
audit chain and a service that does not come back (`scripts/fault-drills`, docs/faults.md)."""
