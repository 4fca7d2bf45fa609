"""Site visits: scheduling, rescheduling, completion, cancellation, GPS check-in and calendar invitations."""
