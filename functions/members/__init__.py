"""The organization's members: profiles, roles, teams, seats and sessions."""
