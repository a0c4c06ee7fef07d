"""Datasets layer: read real tabular files into clean :class:`Dataset` records."""

from metahpo.datasets._dataset import MISSING_CATEGORY, TASK_TYPES, Dataset, TaskType
from metahpo.datasets._load import (
    class_labels,
    conform,
    from_frame,
    infer_task,
    list_dataset_folders,
    load_dataset,
    read_table,
)

__all__ = [
    "MISSING_CATEGORY",
    "TASK_TYPES",
    "Dataset",
    "TaskType",
    "class_labels",
    "conform",
    "from_frame",
    "infer_task",
    "list_dataset_folders",
    "load_dataset",
    "read_table",
]
