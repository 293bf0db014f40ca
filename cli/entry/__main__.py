"""``python -m modelprof``: the ``modelprof`` command (``torchrun ... -m modelprof bench ...`` starts ranks so)."""

from modelprof.cli.app import main

main()
