"""Privacy under India's DPDP Act: access, portability, erasure, consent, policy versions, retention."""
