"""Exceptions raised by metahpo.

Every error a user can cause by bad input is a :class:`MetaHPOError`; the CLI prints its message
as one line on stderr and exits with status 2, never with a traceback.
"""

from __future__ import annotations

__all__ = ["DataError", "KnowledgeBaseError", "MetaHPOError", "MetaHPOWarning", "SpaceError"]


class MetaHPOError(Exception):
    """Base class of all errors metahpo raises on purpose."""


class DataError(MetaHPOError, ValueError):
    """A dataset cannot be read or is unusable for the requested task."""


class SpaceError(MetaHPOError, ValueError):
    """A search space or configuration is invalid."""


class KnowledgeBaseError(MetaHPOError):
    """The experience store is missing, outdated or inconsistent."""


class MetaHPOWarning(UserWarning):
    """A note for the user while work goes on (e.g. waiting for a locked storage); the CLI
    prints it as one ``metahpo:`` line on stderr."""
