"""Benchmark the vectorised business-hours clock.

Times ``tablero.business_hours.business_seconds`` on N random intervals spread over one year,
for the default schedule (Mon-Fri 09:00-18:00, America/Sao_Paulo) with BR/SP holidays.

    python bench/business_hours.py            # 2,000,000 intervals
    python bench/business_hours.py --n 500000 --repeat 5
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from tablero.business_hours import Schedule, business_seconds

YEAR_START = 1_767_236_400  # 2026-01-01 00:00 America/Sao_Paulo, in UTC epoch seconds
YEAR = 365 * 86_400


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=(
            "Time business_seconds() on N random intervals over 2026 for the default schedule "
            "(Mon-Fri 09-18, America/Sao_Paulo) with BR/SP holidays."
        )
    )
    parser.add_argument("--n", type=int, default=2_000_000, help="intervals (default 2000000)")
    parser.add_argument(
        "--max-span-days",
        type=float,
        default=10.0,
        help="longest interval, days; spans are log-uniform from 1 minute (default 10)",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed runs, best reported (default 3)"
    )
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    parser.add_argument("--timezone", default="America/Sao_Paulo", help="IANA time zone")
    args = parser.parse_args(argv)

    schedule = Schedule.from_weekly(args.timezone, None, "BR", "SP")
    rng = np.random.default_rng(args.seed)
    starts = YEAR_START + rng.integers(0, YEAR, size=args.n, dtype=np.int64)
    spans = np.exp(rng.uniform(np.log(60), np.log(args.max_span_days * 86_400), size=args.n))
    ends = starts + spans.astype(np.int64)

    t0 = time.perf_counter()
    business_seconds(schedule, starts[:10], ends[:10])  # builds and caches the interval table
    cold = time.perf_counter() - t0

    timings = []
    for _ in range(max(1, args.repeat)):
        t0 = time.perf_counter()
        result = business_seconds(schedule, starts, ends)
        timings.append(time.perf_counter() - t0)
    best = min(timings)
    print(f"intervals         : {args.n:,}")
    print(f"table build (cold): {cold * 1000:.1f} ms")
    print(
        f"business_seconds  : best {best * 1000:.1f} ms of {len(timings)} "
        f"({', '.join(f'{t * 1000:.0f}' for t in timings)} ms)"
    )
    print(f"rate              : {args.n / best / 1e6:.1f} M intervals/s")
    print(f"checksum          : mean {result.mean() / 3600:.2f} business h per interval")


if __name__ == "__main__":
    main()
