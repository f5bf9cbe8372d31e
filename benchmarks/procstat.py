"""CPU time of processes and threads from Linux's /proc, for the benchmarks
(bench_run, bench_store): what each process of a run used, children included."""
from __future__ import annotations

import os

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int | str, tid: int | None = None) -> float:
    """utime + stime of a process (or of its thread ``tid``) so far."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    with open(path) as fh:
        fields = fh.read().rsplit(")", 1)[1].split()   # the name may hold spaces
    return (int(fields[11]) + int(fields[12])) / TICK


def children(pid: int | str) -> list[int]:
    """The live child processes of a process (children of any of its threads)."""
    out: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                out.extend(int(c) for c in fh.read().split())
        except OSError:
            continue
    return out
