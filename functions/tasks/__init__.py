"""Tasks: what someone has to do next, optionally about a lead."""
