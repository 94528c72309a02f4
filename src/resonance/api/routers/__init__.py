"""One thin router per resource; each calls the services (never storage directly)."""
