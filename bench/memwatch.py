"""Peak memory of a process and all its descendants, sampled: ``python bench/memwatch.py PID``.

Every 0.2 s it adds up the proportional set size (PSS: each page shared by n processes counts
1/n in each, so pages a forked child still shares with its parent count once) of PID and of
every process descended from it, from Linux's ``/proc/<pid>/smaps_rollup``, and remembers the
largest sum and the largest single process. It stops when PID ends or its standard input
closes, and prints ``peak_total_mb peak_process_mb`` on standard output.

``bench/ingest.py`` runs it as a separate program, not a thread: the ingestion forks worker
processes only from a process without other threads.
"""

from __future__ import annotations

import os
import select
import sys


def _children(pid: int) -> list[int]:
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found.extend(int(p) for p in f.read().split())
        except OSError:
            continue
    return found


def _pss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _tree(pid: int) -> list[int]:
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(_children(current))
    return tree


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].isdigit():
        print(__doc__, file=sys.stderr)
        return 2
    root = int(args[0])
    peak_total = peak_process = 0.0
    while os.path.exists(f"/proc/{root}"):
        sizes = [_pss_mb(pid) for pid in _tree(root) if pid != os.getpid()]
        peak_total = max(peak_total, sum(sizes))
        peak_process = max(peak_process, *sizes)
        ready, _, _ = select.select([sys.stdin], [], [], 0.2)
        if ready and not sys.stdin.read(1):  # the caller closed our input: done
            break
    print(f"{peak_total:.0f} {peak_process:.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
