"""The meta-training loop of the torch surrogates of the ``maml`` and ``fsbo`` bases.

Live standing: that of its users, :class:`MetaTrainedSurrogate` and :class:`DeepKernelGP`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def meta_train(
    torch: Any,
    model: Any,
    tasks: Sequence[tuple[Any, Any]],
    iterations: int,
    rng: Any,
    steps: Callable[[Any, Any], None],
    *,
    meta_lr: float,
    reptile: bool = True,
) -> None:
    """``iterations`` meta-steps on ``model``, each on one of the ``tasks`` (``(X, y)``
    tensors) drawn by ``rng``: ``steps(X, y)`` trains ``model`` on it; with ``reptile``
    (Nichol et al., 2018) the shared weights then move ``meta_lr`` of the way from where they
    were towards the adapted ones, without it they stay where the steps left them."""
    for _ in range(iterations):
        X, y = tasks[int(rng.integers(len(tasks)))]
        if not reptile:
            steps(X, y)
            continue
        before = [p.detach().clone() for p in model.parameters()]
        steps(X, y)
        with torch.no_grad():
            for p, b in zip(model.parameters(), before, strict=True):
                p.copy_(b + meta_lr * (p - b))
