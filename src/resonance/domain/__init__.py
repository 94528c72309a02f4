"""Pure domain: no I/O, no framework imports beyond data libraries."""
