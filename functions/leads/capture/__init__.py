"""Lead capture: the organization's capture sources, the captures they receive and the one pipeline."""
