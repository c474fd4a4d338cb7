"""``python -m prodsheets.cli``: the same command as ``prodsheets``."""

from . import main

main()
