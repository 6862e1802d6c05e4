"""Use cases. Each takes the Runtime and an Actor, validates (check_*), then mutates in one
transaction (do_*), emitting events that are published only after commit."""
