"""Projects: the real-estate projects leads are interested in and visits go to."""
