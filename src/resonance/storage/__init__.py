"""Storage adapters: the Store interface, its SQL implementation, artifacts."""
