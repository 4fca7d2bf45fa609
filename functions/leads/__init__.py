"""Leads: the buyers an organization's agents work."""
