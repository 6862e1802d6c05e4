"""Plain typed values of the hub, with no I/O."""
