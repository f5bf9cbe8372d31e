"""The cron job's cleaning processes (scraper.workers.ForkPool): real forked
workers fed from an event loop."""
from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from runhelp import proc_stat, running
from scraper import workers
from scraper.errors import DiscoveryError

pytestmark = pytest.mark.skipif(not workers.fork_available(), reason="needs fork")


def _pid_and_size(data: bytes) -> tuple[int, int]:
    return os.getpid(), len(data)


def _fails(message: str) -> None:
    raise DiscoveryError(message)


def _unpicklable():
    return lambda: None


def _exits():
    raise SystemExit(3)


def _sleep_then_pid(seconds: float) -> int:
    import time
    time.sleep(seconds)
    return os.getpid()


def test_jobs_run_in_every_worker_and_answers_match_their_jobs():
    async def scenario():
        pool = workers.ForkPool(2)
        try:
            sizes = [1, 300_000, 5, 115_000, 0] * 8        # pages bigger than a socket buffer
            answers = await asyncio.gather(*(pool.submit(_pid_and_size, b"x" * n) for n in sizes))
            return sizes, answers
        finally:
            pool.shutdown()
    sizes, answers = asyncio.run(scenario())
    assert [size for _, size in answers] == sizes
    pids = {pid for pid, _ in answers}
    assert len(pids) == 2 and os.getpid() not in pids


def test_a_job_that_raises_fails_alone_and_the_pool_goes_on():
    async def scenario():
        pool = workers.ForkPool(1)
        try:
            with pytest.raises(DiscoveryError, match="bad feed"):
                await pool.submit(_fails, "bad feed")
            with pytest.raises(RuntimeError, match="unpicklable"):
                await pool.submit(_unpicklable)
            with pytest.raises(RuntimeError, match="SystemExit"):  # the job fails, not the run
                await pool.submit(_exits)
            return await pool.submit(_pid_and_size, b"abc")
        finally:
            pool.shutdown()
    assert asyncio.run(scenario())[1] == 3


def test_a_dead_worker_breaks_the_pool_and_no_job_waits_forever():
    from concurrent.futures.process import BrokenProcessPool

    async def scenario():
        pool = workers.ForkPool(1)
        try:
            pid = await pool.submit(_sleep_then_pid, 0)
            running = [pool.submit(_sleep_then_pid, 5) for _ in range(4)]  # 2 sent, 2 queued
            await asyncio.sleep(0.2)
            os.kill(pid, signal.SIGKILL)
            results = await asyncio.wait_for(
                asyncio.gather(*running, return_exceptions=True), timeout=3)
            later = pool.submit(_pid_and_size, b"")
            with pytest.raises(BrokenProcessPool):
                await later
            return results
        finally:
            pool.shutdown()
    results = asyncio.run(scenario())
    assert all(isinstance(r, BrokenProcessPool) for r in results)


def _descendants() -> set[int]:
    """This process's live descendants, from /proc (empty where there is none)."""
    out, stack = set(), [os.getpid()]
    while stack:
        pid = stack.pop()
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{pid}/task/{task}/children") as fh:
                    kids = [int(c) for c in fh.read().split()]
            except OSError:
                continue
            out.update(kids)
            stack.extend(kids)
    return out


needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs /proc")


@needs_proc
def test_shutdown_cancels_what_is_waiting_and_leaves_no_worker_behind():
    before = _descendants()

    async def scenario():
        pool = workers.ForkPool(2)
        jobs = [pool.submit(_sleep_then_pid, 0.3) for _ in range(6)]
        await asyncio.sleep(0.1)
        running = _descendants() - before
        pool.shutdown()
        return jobs, running, pool.pids
    jobs, running, pids = asyncio.run(scenario())
    assert all(job.cancelled() for job in jobs)
    assert len(running) == 3 and set(pids) < running   # the starter and its two workers
    assert not _descendants() - before


_PREPARED: list[int] = []


def _prepare() -> None:
    _PREPARED.append(os.getpid())


def _prepared_and_parent() -> tuple[list[int], int]:
    return list(_PREPARED), os.getppid()


def _prepare_fails() -> None:
    raise ImportError("no module named 'lxml'")


def test_prepare_runs_once_before_the_workers_are_forked_and_not_in_the_run():
    async def scenario():
        pool = workers.ForkPool(2, prepare=_prepare)
        try:
            return await asyncio.gather(*(pool.submit(_prepared_and_parent) for _ in range(8)))
        finally:
            pool.shutdown()
    answers = asyncio.run(scenario())
    assert _PREPARED == []                          # not in this process
    starters = {tuple(prepared) for prepared, _ in answers}
    assert len(starters) == 1                       # one preparation, seen by every worker
    (starter,) = starters
    assert len(starter) == 1 and {parent for _, parent in answers} == {starter[0]}


def _breaks_with(match: str, **pool_args) -> None:
    """A pool made with ``pool_args`` fails its first job with BrokenProcessPool
    matching ``match``, and leaves no process behind. The job takes a second:
    a worker forked before the failure is killed before it could answer."""
    from concurrent.futures.process import BrokenProcessPool
    before = _descendants()

    async def scenario():
        pool = workers.ForkPool(2, **pool_args)
        try:
            with pytest.raises(BrokenProcessPool, match=match):
                await asyncio.wait_for(pool.submit(_sleep_then_pid, 1.0), timeout=5)
        finally:
            pool.shutdown()
    asyncio.run(scenario())
    assert not _descendants() - before


@needs_proc
def test_a_failing_prepare_breaks_the_pool_with_its_reason():
    _breaks_with("could not start: ImportError: no module", prepare=_prepare_fails)


@needs_proc
def test_a_refused_fork_leaves_no_worker_behind(monkeypatch):
    """The starter's second fork of a worker fails (a process limit, say:
    forced here): the pool breaks with the reason, the first worker is gone."""
    real_fork, forks = os.fork, []

    def fork():
        if len(forks) >= 2:     # the starter (here), then its first worker (there)
            raise OSError("Resource temporarily unavailable")
        forks.append(1)
        return real_fork()
    monkeypatch.setattr(os, "fork", fork)
    _breaks_with("could not start: OSError: Resource temporarily unavailable")


@needs_proc
def test_a_worker_stuck_in_a_job_is_terminated_at_shutdown():
    before = _descendants()

    async def scenario():
        pool = workers.ForkPool(1)
        job = pool.submit(_sleep_then_pid, 60)
        await asyncio.sleep(0.3)
        started = time.monotonic()
        pool.shutdown(timeout=0.5)
        return job, time.monotonic() - started
    job, seconds = asyncio.run(scenario())
    assert job.cancelled() and seconds < 3
    deadline = time.monotonic() + 3
    while _descendants() - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _descendants() - before


def test_the_executor_fallback_answers_like_the_fork_pool():
    """Where fork is missing the run wraps a ProcessPoolExecutor in
    ExecutorPool: same submit (an asyncio future) and shutdown."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    async def scenario():
        pool = workers.ExecutorPool(ProcessPoolExecutor(
            1, mp_context=multiprocessing.get_context("fork")))
        try:
            pid, size = await pool.submit(_pid_and_size, b"x" * 300_000)
            with pytest.raises(DiscoveryError, match="bad feed"):
                await pool.submit(_fails, "bad feed")
            return pid, size
        finally:
            pool.shutdown()
    pid, size = asyncio.run(scenario())
    assert size == 300_000 and pid != os.getpid()


def _slow_prepare() -> None:
    time.sleep(30)


@needs_proc
def test_shutdown_while_the_workers_are_being_prepared_does_not_wait_for_them():
    """A run with nothing to clean (the second, no-change run) must not wait
    for the cleaner to load before it exits."""
    before = _descendants()

    async def scenario():
        pool = workers.ForkPool(2, prepare=_slow_prepare)
        await asyncio.sleep(0.2)
        started = time.monotonic()
        pool.shutdown()
        return time.monotonic() - started
    assert asyncio.run(scenario()) < 2
    assert not _descendants() - before


@needs_proc
def test_a_pool_made_under_a_sigterm_handler_still_stops_while_preparing():
    """The run's event loop handles SIGTERM itself; a pool made after that
    (again, once a first attempt failed) must not inherit the handler into
    its starter, which would then keep preparing through shutdown."""
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        test_shutdown_while_the_workers_are_being_prepared_does_not_wait_for_them()
    finally:
        signal.signal(signal.SIGTERM, previous)


def _starter_of(pid: int) -> int:
    return int(proc_stat(pid)[1])


@needs_proc
@pytest.mark.parametrize("prctl", [True, False], ids=["prctl", "watching-thread"])
def test_a_busy_worker_whose_parent_is_killed_exits_at_once(prctl, monkeypatch):
    """run._worker_init: a worker in a long job ends with its parent (kill -9)
    instead of finishing the job as an orphan; without prctl (not Linux) a
    thread watches the parent."""
    from scraper import run
    if not prctl:
        monkeypatch.setattr(run, "_die_with_parent", lambda: False)

    async def scenario():
        pool = workers.ForkPool(1, initializer=run._worker_init)
        try:
            job = pool.submit(_sleep_then_pid, 60)
            while None in pool.pids:
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.2)   # in the job
            worker = pool.pids[0]
            os.kill(_starter_of(worker), signal.SIGKILL)
            started = time.monotonic()
            while running(worker) and time.monotonic() - started < 5:
                await asyncio.sleep(0.02)
            gone = time.monotonic() - started
            with pytest.raises(workers.BrokenProcessPool):
                await job
            return gone
        finally:
            pool.shutdown()
    assert asyncio.run(scenario()) < 2
