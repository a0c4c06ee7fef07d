"""``metahpo tune``: tune one model family on one dataset."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    sub.add_parser("tune", help="tune a model family on a dataset")
