"""The one way faststyle times things: median wall time after a warm-up call."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_ms(fn: Callable[[], object], runs: int = 5, sync: Callable[[], None] | None = None) -> float:
    """Median milliseconds of fn() over `runs` calls, after one untimed call (first-run
    allocations, kernel selection). `sync` waits for asynchronous work, e.g. torch.cuda.synchronize."""
    sync = sync or (lambda: None)
    fn()
    sync()
    times = []
    for _ in range(max(1, runs)):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)
