"""The ``edgekit`` command line."""
