"""The ``metahpo`` command line: thin wrappers over the library, one module per command group."""

from metahpo.cli._main import main

__all__ = ["main"]
