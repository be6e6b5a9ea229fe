"""The device side: profiles, model cards, what this host is, the runtime plan, doctor."""
