"""The organization: its settings and teams."""
