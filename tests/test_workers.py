"""The cron job's cleaning processes (scraper.workers.ForkPool): real forked
workers fed from an event loop."""
from __future__ import annotations

import asyncio
import os
import signal

import pytest

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


def test_shutdown_cancels_what_is_waiting_and_leaves_no_worker_behind():
    async def scenario():
        pool = workers.ForkPool(2)
        jobs = [pool.submit(_sleep_then_pid, 0.3) for _ in range(6)]
        await asyncio.sleep(0.1)
        pool.shutdown()
        return jobs, [w.process for w in pool._workers]
    jobs, processes = asyncio.run(scenario())
    assert all(job.cancelled() for job in jobs)
    assert all(not p.is_alive() for p in processes)


def test_a_refused_fork_leaves_no_worker_behind(monkeypatch):
    """The second fork fails (a process limit, say: forced here): the pool
    is not made and the first worker is gone."""
    import multiprocessing

    cls = type(multiprocessing.get_context("fork").Process())
    real_start, started = cls.start, []

    def start(self):
        if started:
            raise OSError("Resource temporarily unavailable")
        real_start(self)
        started.append(self)
    monkeypatch.setattr(cls, "start", start)

    async def scenario():
        with pytest.raises(OSError, match="unavailable"):
            workers.ForkPool(2)
    asyncio.run(scenario())
    assert len(started) == 1
    started[0].join(5)
    assert not started[0].is_alive()


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
