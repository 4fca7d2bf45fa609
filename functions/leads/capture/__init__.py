"""Lead capture: sources, capture records, the pipeline, and the provider clients that feed it."""
