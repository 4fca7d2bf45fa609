"""Local tooling: the emulator stack, seeding, benchmarks. Never deployed."""
