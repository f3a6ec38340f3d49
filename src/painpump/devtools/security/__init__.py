"""Security drills (`scripts/security-drills`, docs/security.md): the audit trail tampered with,
slow clients, a login flood and role escalation, each module a `drill(full) -> Report`."""
