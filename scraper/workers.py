"""The cron job's cleaning processes, fed straight from its event loop.

    pool = ForkPool(2, initializer=setup)      # inside a running event loop
    result = await pool.submit(fn, *args)      # fn and args picklable
    pool.shutdown()

Each worker is a forked process with one socket pair to the run: a job is
one length-prefixed pickle written by the event loop, its answer one read
by the event loop (``loop.add_reader``). concurrent.futures'
ProcessPoolExecutor does the same through a manager thread and a queue
feeder thread in the run's process, which handed the GIL back and forth
with the event loop for every page: over bench_run.py's 2,000 pages the
run's process used 9.3-9.5 s of CPU with it, 8.2-8.4 s with this pool
(CPU the cleaning processes get instead, on the same cores).

The workers are forked by one starter process, itself forked by the run
as the pool is made: the starter first runs ``prepare`` (the cleaner's
imports and first use, about half a second of CPU), then forks the workers,
which share what it loaded copy-on-write, then waits for them. So the run's
process never loads the cleaner, and goes on opening its store and fetching
its feeds on one core while the other prepares the workers (bench_run.py's
first page came back cleaned 0.8 s after the start instead of 1.15 s).
Each worker's first frame is a hello with its pid; a starter that cannot
prepare or fork sends its error instead, which breaks the pool.

Each worker holds at most DEPTH jobs (one running, the others waiting in
its socket), so it does not wait for the run between two pages, even while
the run's event loop is busy writing a batch of articles (64 in about 40 ms):
with 2 jobs a worker ran dry during each batch write, and over bench_run.py's
2,000 pages the run went from 1.43x single-process clean to 1.48x with 4
(with the thread-free parent watch of run._worker_init). The other jobs wait
in the pool, in order. A worker that dies breaks the pool, as with
ProcessPoolExecutor: its jobs and every later one fail with
BrokenProcessPool. Needs the fork start method (POSIX).
"""
from __future__ import annotations

import asyncio
import collections
import gc
import multiprocessing
import os
import pickle
import signal
import socket
import struct
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

DEPTH = 4                    # jobs sent to a worker before its first answer (see above)
SOCKET_BYTES = 1 << 20       # socket buffers asked for: a ~115 KB page in one write
_HEAD = struct.Struct("!I")  # frame: payload length, then the pickle


def fork_available() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


class _Worker:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.pid: int | None = None                 # from its hello
        self.jobs: dict[int, asyncio.Future] = {}   # sent, not answered yet
        self.inbox = bytearray()
        self.outbox = bytearray()                   # frames the socket has not taken yet


class ForkPool:
    """See the module docstring."""

    def __init__(self, workers: int, initializer: Callable[[], None] | None = None,
                 prepare: Callable[[], None] | None = None):
        """``prepare`` runs once, before the workers are forked (what they
        all need loaded); ``initializer`` runs in each worker."""
        self._loop = asyncio.get_running_loop()
        self._queue: collections.deque[tuple[int, bytes, asyncio.Future]] = collections.deque()
        self._ids = 0
        self._broken: str | None = None
        self._workers: list[_Worker] = []
        self._starter = None
        theirs: list[socket.socket] = []
        try:
            for _ in range(max(1, workers)):
                mine, other = socket.socketpair()
                theirs.append(other)
                self._workers.append(_Worker(mine))
                for sock in (mine, other):
                    for option in (socket.SO_SNDBUF, socket.SO_RCVBUF):
                        try:
                            sock.setsockopt(socket.SOL_SOCKET, option, SOCKET_BYTES)
                        except OSError:
                            pass
            # the starter closes the run's ends: each worker sees EOF once
            # the run closes its end
            self._starter = multiprocessing.get_context("fork").Process(
                target=_start, args=(theirs, [w.sock for w in self._workers], prepare,
                                     initializer),
                daemon=True, name="scraper-clean-starter")
            self._starter.start()
        except BaseException:  # e.g. fork refused: nothing left behind
            self.shutdown()
            raise
        finally:
            for sock in theirs:
                sock.close()
        for worker in self._workers:
            worker.sock.setblocking(False)
            self._loop.add_reader(worker.sock.fileno(), self._readable, worker)

    @property
    def pids(self) -> list[int | None]:
        """The workers' pids, as their hellos gave them (None until then)."""
        return [w.pid for w in self._workers]

    # ---- the run's side ----------------------------------------------------
    def submit(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future:
        """A future for ``fn(*args)`` run in a worker (its exception, if it
        raised one; BrokenProcessPool if a worker died)."""
        future = self._loop.create_future()
        if self._broken:
            future.set_exception(BrokenProcessPool(self._broken))
            return future
        self._ids += 1
        self._queue.append((self._ids, pickle.dumps((self._ids, fn, args), 5), future))
        self._dispatch()
        return future

    def _dispatch(self) -> None:
        while self._queue:
            worker = min(self._workers, key=lambda w: len(w.jobs))
            if len(worker.jobs) >= DEPTH:
                return
            job_id, payload, future = self._queue.popleft()
            if future.done():  # cancelled while waiting
                continue
            worker.jobs[job_id] = future
            self._send(worker, _HEAD.pack(len(payload)) + payload)

    def _send(self, worker: _Worker, frame: bytes) -> None:
        if worker.outbox:
            worker.outbox += frame
            return
        try:
            sent = worker.sock.send(frame)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError as exc:
            self._unreachable(worker, exc)
            return
        if sent < len(frame):
            worker.outbox += frame[sent:]
            self._loop.add_writer(worker.sock.fileno(), self._writable, worker)

    def _writable(self, worker: _Worker) -> None:
        try:
            sent = worker.sock.send(worker.outbox)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._unreachable(worker, exc)
            return
        del worker.outbox[:sent]
        if not worker.outbox:
            self._loop.remove_writer(worker.sock.fileno())

    def _readable(self, worker: _Worker) -> None:
        try:
            data = worker.sock.recv(SOCKET_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._break(f"a cleaning process (pid {worker.pid or 'unknown'}) ended unexpectedly")
            return
        worker.inbox += data
        if self._take(worker):
            self._dispatch()

    def _take(self, worker: _Worker) -> bool:
        """Answer the jobs of the frames in the worker's inbox; False if one
        broke the pool."""
        inbox = worker.inbox
        start = 0
        while len(inbox) - start >= _HEAD.size:
            (size,) = _HEAD.unpack_from(inbox, start)
            end = start + _HEAD.size + size
            if len(inbox) < end:
                break
            job_id, ok, value = pickle.loads(inbox[start + _HEAD.size:end])
            start = end
            if job_id == 0:   # the worker's hello, or its starter's failure
                if not ok:
                    self._break(f"the cleaning processes could not start: {value}")
                    return False
                worker.pid = value
                continue
            future = worker.jobs.pop(job_id, None)
            if future is not None and not future.done():
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)
        del inbox[:start]
        return True

    def _unreachable(self, worker: _Worker, exc: OSError) -> None:
        """A job could not be sent: the pool breaks, with the reason in the
        frames still waiting in the socket if there is one (a starter that
        failed to prepare sends it, then exits: a job sent after that meets
        a closed socket before the run has read it)."""
        while True:
            try:
                data = worker.sock.recv(SOCKET_BYTES)
            except OSError:
                break
            if not data:
                break
            worker.inbox += data
        if self._take(worker):
            self._break(f"a cleaning process cannot be reached: {exc}")

    def _break(self, reason: str) -> None:
        """A worker is gone: every job waiting or running fails."""
        if self._broken:
            return
        self._broken = reason
        self._close_sockets()
        for future in self._take_pending():
            if not future.done():
                future.set_exception(BrokenProcessPool(reason))

    def _take_pending(self) -> list[asyncio.Future]:
        """The futures of every job sent or waiting, which the pool forgets."""
        futures = [f for w in self._workers for f in w.jobs.values()]
        futures += [f for _, _, f in self._queue]
        self._queue.clear()
        for worker in self._workers:
            worker.jobs.clear()
        return futures

    def _close_sockets(self) -> None:
        for worker in self._workers:
            if worker.sock.fileno() >= 0:
                self._loop.remove_reader(worker.sock.fileno())
                self._loop.remove_writer(worker.sock.fileno())
                worker.sock.close()

    def shutdown(self, timeout: float = 5.0) -> None:
        """Drop the jobs not answered yet; the workers see their socket
        close and exit, then their starter (those still busy after
        ``timeout`` are terminated; a starter still preparing, at once)."""
        self._broken = self._broken or "the pool is shut down"
        self._close_sockets()
        for future in self._take_pending():
            future.cancel()
        starter, self._starter = self._starter, None
        if starter is None or starter.pid is None:
            return
        if None in self.pids:   # still preparing: no job of it will be answered
            starter.terminate()
        starter.join(timeout)
        if starter.is_alive():
            starter.terminate()   # it terminates its workers
            starter.join(1.0)
        if starter.is_alive():
            starter.kill()
            starter.join(1.0)


class ExecutorPool:
    """ForkPool's interface over a concurrent.futures executor (where fork
    is not available: the workers are spawned)."""

    def __init__(self, executor):
        self._executor = executor

    def submit(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future:
        return asyncio.wrap_future(self._executor.submit(fn, *args))

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


# ---- the worker's side ---------------------------------------------------------
def _start(socks: list[socket.socket], runs: list[socket.socket], prepare, initializer) -> None:
    """The starter: prepare once, fork one worker per socket, wait for them.
    SIGINT is the run's to handle; SIGTERM stops the workers too (while
    preparing, SIGTERM's default: a handler of the run's, inherited by the
    fork, would keep it preparing)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)   # the workers inherit it
    for sock in runs:
        sock.close()
    pids: list[int] = []
    try:
        if prepare is not None:
            prepare()
        gc.freeze()   # the collector never walks what the workers inherit: its pages stay shared
        for k, sock in enumerate(socks):
            pid = os.fork()
            if pid == 0:
                for other in socks[:k] + socks[k + 1:]:
                    other.close()
                _serve(sock, initializer)   # never returns
            pids.append(pid)
    except BaseException as exc:  # noqa: BLE001 - told to the run, which breaks the pool
        for pid in pids:
            _signal(pid, signal.SIGKILL)
        failure = _frame((0, False, RuntimeError(f"{type(exc).__name__}: {exc}")))
        for sock in socks[len(pids):]:
            try:
                sock.sendall(failure)
            except OSError:
                pass
        _reap(pids)
        os._exit(1)
    for sock in socks:
        sock.close()
    def stop(*_):
        for pid in pids:
            _signal(pid, signal.SIGTERM)
        os._exit(1)
    signal.signal(signal.SIGTERM, stop)
    _reap(pids)
    os._exit(0)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except OSError:
        pass


def _reap(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def _frame(answer) -> bytes:
    out = pickle.dumps(answer, 5)
    return _HEAD.pack(len(out)) + out


def _serve(sock: socket.socket, initializer) -> None:
    """A worker: say hello, then answer each job read from the socket until
    it closes; then exit."""
    try:
        if initializer is not None:
            initializer()
        sock.sendall(_frame((0, True, os.getpid())))
        _answer(sock)
    finally:
        os._exit(0)


def _answer(sock: socket.socket) -> None:
    reader = sock.makefile("rb")
    while True:
        head = reader.read(_HEAD.size)
        if len(head) < _HEAD.size:
            break
        payload = reader.read(_HEAD.unpack(head)[0])
        job_id, fn, args = pickle.loads(payload)
        try:
            answer = (job_id, True, fn(*args))
        except (StopIteration, StopAsyncIteration) as exc:  # a future cannot hold these
            answer = (job_id, False, RuntimeError(repr(exc)))
        except Exception as exc:  # noqa: BLE001 - sent back to the run, as the pool's do
            answer = (job_id, False, exc)
        except BaseException as exc:  # noqa: BLE001 - SystemExit...: fails the job, not the run
            answer = (job_id, False, RuntimeError(repr(exc)))
        try:
            out = _frame(answer)
        except Exception as exc:  # noqa: BLE001 - an unpicklable answer fails its job only
            out = _frame((job_id, False, RuntimeError(f"unpicklable answer: {exc!r}")))
        try:
            sock.sendall(out)
        except OSError:
            break
