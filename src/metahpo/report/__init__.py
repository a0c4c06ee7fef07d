"""Reports: a self-contained HTML page of the tuning runs in an Optuna storage."""

from metahpo.report._html import MAX_STUDIES, write_report

__all__ = ["MAX_STUDIES", "write_report"]
