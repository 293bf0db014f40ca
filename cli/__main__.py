"""``python -m modelprof.cli``: the ``modelprof`` command (torchrun launches ranks so)."""

from .app import main

main()
