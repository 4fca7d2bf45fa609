"""Emulator-only helpers; never deployed."""
