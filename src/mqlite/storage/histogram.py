"""A fixed-bucket histogram cheap enough for hot paths: one bisect and two additions.

Lives in the storage layer (the lowest) so that every layer can count with it: the
group committer's batch sizes and fsync times, the core's request latencies. Buckets
are cumulative only when read (`cumulative()`, at scrape time), never on observe.
Not locked: an observation is a few integer/float additions, and a scrape that reads
one mid-update is off by one sample at most.
"""

from __future__ import annotations

from bisect import bisect_left

#: Latency buckets in seconds (Prometheus' defaults, extended down to 100 µs).
LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                   0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: Count buckets (batch sizes): powers of two.
COUNT_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)


class Histogram:
    """Observations counted per bucket; `bounds` are the inclusive upper bounds."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self) -> list[tuple[str, int]]:
        """[(upper bound as Prometheus spells it, cumulative count)], ending with +Inf."""
        out, total = [], 0
        counts = list(self.counts)  # one snapshot: the observer may add meanwhile
        for bound, n in zip(self.bounds, counts):
            total += n
            out.append((_spell(bound), total))
        out.append(("+Inf", total + counts[-1]))
        return out


def _spell(bound: float) -> str:
    return repr(float(bound))
