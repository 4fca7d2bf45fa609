"""Firestore triggers and scheduled jobs: thin, they call feature services."""
