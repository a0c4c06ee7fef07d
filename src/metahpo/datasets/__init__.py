"""Datasets layer: read real tabular files into clean :class:`Dataset` records."""

from metahpo.datasets._dataset import MISSING_CATEGORY, TASK_TYPES, Dataset, TaskType
from metahpo.datasets._load import (
    EXTRA_NA_VALUES,
    class_labels,
    from_frame,
    infer_task,
    list_dataset_folders,
    load_dataset,
    read_table,
    read_table_notes,
)
from metahpo.datasets._rows import check_rows, conform
from metahpo.datasets._validate import MAX_MAGNITUDE, check_magnitudes

__all__ = [
    "EXTRA_NA_VALUES",
    "MAX_MAGNITUDE",
    "MISSING_CATEGORY",
    "TASK_TYPES",
    "Dataset",
    "TaskType",
    "check_magnitudes",
    "check_rows",
    "class_labels",
    "conform",
    "from_frame",
    "infer_task",
    "list_dataset_folders",
    "load_dataset",
    "read_table",
    "read_table_notes",
]
