"""Lead routing: rules, availability, eligibility, hot-spot-free counters, the queue and the SLA deadline."""
