"""Typer command line, a peer of the REST API."""
