"""Use cases: one transaction each (policy check, work, event, ledger)."""
