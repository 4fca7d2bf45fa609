"""Reminders at the exact time: Cloud Tasks per reminder, a daily sweep for the 30-day horizon, a daily digest."""
