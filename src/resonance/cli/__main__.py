"""``python -m resonance.cli``: the ``resonance`` command."""

from resonance.cli.app import main

main()
