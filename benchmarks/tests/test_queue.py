"""The grids' shared runner: a few units in flight, each finished as it comes back."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from metahpo_bench._queue import drain


def test_drain_finishes_every_unit_with_its_result_or_its_error() -> None:
    running: list[int] = []
    peak = [0]
    lock = threading.Lock()

    def job(u: int) -> int:
        with lock:
            running.append(u)
            peak[0] = max(peak[0], len(running))
        try:
            if u == 3:
                raise ValueError("bad unit\nsecond line")
            return u * 10
        finally:
            with lock:
                running.remove(u)

    done: dict[int, tuple[int | None, str | None]] = {}
    with ThreadPoolExecutor(4) as pool:
        drain(
            list(range(8)),
            lambda u: pool.submit(job, u),
            lambda u, r, e: done.update({u: (r, e)}),
            2,
        )
    assert sorted(done) == list(range(8)) and peak[0] <= 2
    assert done[5] == (50, None)
    result, error = done[3]
    assert result is None and error is not None and error.startswith("ValueError: bad unit")
