"""Resonance: a Model-Data Resonance Space for industry consortia."""

__version__ = "0.1.0"
