"""The security audit trail as admins read it."""
