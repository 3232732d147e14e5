"""``python -m kopflow``: the same as the ``kopflow`` command."""

from kopflow.cli import main

main()
