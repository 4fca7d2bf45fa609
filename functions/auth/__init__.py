"""Login with a one-time code emailed to a member's work address."""
