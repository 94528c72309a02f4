"""Rendering of the action's reports (Markdown and HTML with offline plotly charts)."""
