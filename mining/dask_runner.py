# mypy: disallow-untyped-calls=False
# (distributed ships py.typed but leaves Client, LocalCluster and Security untyped)
"""Run the per-repository tasks on a Dask cluster: a local one, or an existing one.

``DaskRunner(workers=4)`` starts a local cluster of four single-threaded worker
processes (closed when the runner is); ``DaskRunner(scheduler="tls://host:8786")``
connects to a cluster someone started, e.g. with dask-jobqueue on SLURM. One task per
repository is submitted and the results are gathered in the order of the tasks.

The pseudonymisation key. The client loads it (as the serial miner would) and sends it
inside each mining task, so workers need neither the key file nor the environment
variable. In transit it is wrapped in :class:`_Secret`, whose repr is hidden, so Dask's
"Compute Failed" log lines and tracebacks never show it. On a worker it is put into an
environment variable with a per-run name for the duration of the task only (that is
how :func:`teamlens.privacy.load_key` accepts a key), and removed afterwards. The
local cluster talks TLS with throw-away certificates, so other users of the machine
cannot connect to its scheduler; on an existing cluster the key crosses the cluster's
network, so use ``tls://`` (docs/scale.md).

Progress: workers publish ``(repository, done, total)`` events on a Dask topic (at most
two per second per repository) and the client passes them to the progress callback;
when a task finishes, its repository's progress is completed even if the last event is
still on its way.

Errors: every task runs to its end (a failure does not stop the other repositories,
whose work is committed). Then the first failure in task order is raised on the client:
a :class:`TeamlensError` as the same type with the repository's name in the message, a
worker that died as :class:`ClusterError`, anything else (a bug) with its traceback.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

import dask
from distributed import Client, Future, KilledWorker, LocalCluster, as_completed, get_worker
from distributed.security import Security

import teamlens
from teamlens.config import Config, RepositoryConfig
from teamlens.errors import KeyFileError, TeamlensError
from teamlens.mining.miner import MiningReport, MiningTask, ProgressCallback
from teamlens.mining.ranges import mine_task
from teamlens.privacy import load_key

R = TypeVar("R")

PROGRESS_TOPIC = "teamlens-progress"
PROGRESS_EVERY_SECONDS = 0.5
KEY_ENV_PREFIX = "TEAMLENS_RUN_KEY_"
MAX_NAMED_FAILURES = 5

#: Dask settings for the local cluster. Its defaults poll often for a dashboard and
#: diagnostics that nobody looks at here: an idle two-worker cluster used 0.14 cores of
#: this project's 2-core machine, 0.02 with these. (The profiler samples the stack of
#: the thread running the miner 100 times a second.) docs/scale.md suggests the same
#: for clusters started elsewhere.
LOCAL_CLUSTER_CONFIG: dict[str, object] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
    # No HTTP endpoints (health, metrics, task names) for other users of the machine.
    "distributed.scheduler.http.routes": [],
    "distributed.worker.http.routes": [],
}

logger = logging.getLogger(__name__)


class ClusterError(TeamlensError):
    "The Dask cluster cannot be started or reached, or it lost a task"


class _Secret:
    """The key in transit: pickles as its bytes, shows as ``<hidden>`` everywhere else."""

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        self._value = value

    def reveal(self) -> bytes:
        return self._value

    def __repr__(self) -> str:
        return "<teamlens key: hidden>"

    __str__ = __repr__

    def __reduce__(self) -> tuple[type[_Secret], tuple[bytes]]:
        return (_Secret, (self._value,))


# --- on the workers -------------------------------------------------------------------

_env_lock = threading.Lock()
_env_users: dict[str, int] = {}


@contextlib.contextmanager
def _key_in_environment(name: str, secret: _Secret) -> Iterator[None]:
    """The key in environment variable `name` while the block runs.

    Counted, so tasks of one run sharing a multi-threaded worker do not remove it from
    under each other; each run has its own variable name, so runs never mix keys.
    """
    with _env_lock:
        _env_users[name] = _env_users.get(name, 0) + 1
        os.environ[name] = secret.reveal().decode("utf-8")
    try:
        yield
    finally:
        with _env_lock:
            _env_users[name] -= 1
            if not _env_users[name]:
                del _env_users[name]
                os.environ.pop(name, None)


class _ForwardProgress:
    """A progress callback on a worker: publishes throttled events to the client."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self._last: dict[str, float] = {}

    def __call__(self, label: str, done: int, total: int) -> None:
        now = time.monotonic()
        edge = done == 0 or done >= total
        if not edge and now - self._last.get(label, float("-inf")) < PROGRESS_EVERY_SECONDS:
            return
        self._last[label] = now
        with contextlib.suppress(ValueError):  # not on a worker (called directly): no-op
            get_worker().log_event(PROGRESS_TOPIC, [self.run_id, label, done, total])


def _worker_ready() -> str:
    """Import the miner (pyarrow, pygit2) ahead of the first task; teamlens's version."""
    import teamlens.mining.miner

    return teamlens.__version__


def _mine_on_worker(task: MiningTask, secret: _Secret, run_id: str | None) -> MiningReport:
    progress = _ForwardProgress(run_id) if run_id is not None else None
    with _key_in_environment(task.privacy.key_env, secret):
        return mine_task(task, progress)


def _call_on_worker(
    fn: Callable[[Config, RepositoryConfig, ProgressCallback | None], R],
    config: Config,
    repo: RepositoryConfig,
    run_id: str | None,
) -> R:
    return fn(config, repo, _ForwardProgress(run_id) if run_id is not None else None)


# --- on the client --------------------------------------------------------------------


class _Relay:
    """Passes the workers' progress events of one run to the progress callback.

    Events arrive on the client's event-loop thread, completions on the caller's: one
    lock keeps the callback's calls in order, and a repository whose progress reached
    its total ignores late events.
    """

    def __init__(self, run_id: str, progress: ProgressCallback) -> None:
        self.run_id = run_id
        self.progress = progress
        self._lock = threading.Lock()
        self._totals: dict[str, int] = {}
        self._finished: set[str] = set()

    def on_event(self, event: tuple[float, Any]) -> None:
        _, msg = event
        if not isinstance(msg, (list, tuple)) or len(msg) != 4 or msg[0] != self.run_id:
            return  # another run's (or another program's) event on the shared topic
        self._report(str(msg[1]), int(msg[2]), int(msg[3]))

    def finish(self, label: str) -> None:
        """The task is done: complete its progress if it started and is not complete."""
        with self._lock:
            total = self._totals.get(label)
        if total is not None:
            self._report(label, total, total)

    def _report(self, label: str, done: int, total: int) -> None:
        with self._lock:
            if label in self._finished:
                return
            self._totals[label] = total
            if done >= total:
                self._finished.add(label)
            try:
                self.progress(label, done, total)
            except Exception:  # a broken progress display must not lose the results
                logger.exception("progress callback failed")


@dataclasses.dataclass(frozen=True)
class _Call:
    """One task to submit: the repository it is for, the function and its arguments."""

    repo: str
    fn: Callable[..., Any]
    args: tuple[Any, ...]


def _is_loopback(address: str) -> bool:
    host = urlsplit(address).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _local_security() -> Security:
    """Throw-away TLS certificates for a local cluster (needs `cryptography`)."""
    try:
        security: Security = Security.temporary()
    except ImportError:
        logger.warning(
            "teamlens: `cryptography` is not installed, so the local Dask cluster talks "
            "plain TCP on 127.0.0.1; other users of this machine could connect to it"
        )
        return Security()
    return security


def _named(repo: str, exc: BaseException) -> BaseException:
    """The task's error, naming its repository."""
    prefix = f"repository {repo!r}: "
    if isinstance(exc, TeamlensError):
        message = str(exc)
        if message.startswith(prefix):
            return exc
        return _with_message(exc, prefix + message)
    if isinstance(exc, KilledWorker):
        return ClusterError(
            f"{prefix}its task ended the worker process running it several times (out of "
            "memory, or killed); see the workers' logs"
        )
    if isinstance(exc, CancelledError):
        return ClusterError(f"{prefix}its task was cancelled (the scheduler lost it)")
    exc.add_note(f"while running the task of repository {repo!r} on a Dask worker")
    return exc


class DaskRunner:
    """Runs one task per repository on Dask; see the module docstring.

    Use it as a context manager to keep one cluster for several runs (mine, then label,
    then features); :meth:`run` and :meth:`per_repository` outside a ``with`` block
    start and close a cluster (or connection) for that call alone.

    Parameters
    ----------
    workers
        Processes of the local cluster (one thread each); None: one per CPU core.
    scheduler
        Address of an existing cluster's scheduler, e.g. ``tls://host:8786``; then no
        local cluster is started and ``workers`` must be None.
    security
        TLS settings for the connection to ``scheduler`` (default: Dask's configuration,
        ``distributed.comm.tls.*``), or for the local cluster (default: throw-away
        certificates).
    """

    def __init__(
        self,
        workers: int | None = None,
        scheduler: str | None = None,
        security: Security | None = None,
    ) -> None:
        if scheduler is not None and workers is not None:
            raise ValueError("DaskRunner: give `workers` or `scheduler`, not both")
        if workers is not None and workers < 1:
            raise ValueError(f"DaskRunner: workers must be at least 1, got {workers}")
        self.workers = workers
        self.scheduler = scheduler
        self.security = security
        self._cluster: LocalCluster | None = None
        self._client: Client | None = None

    def __repr__(self) -> str:
        where = self.scheduler or f"local cluster, {self.workers or 'one per core'} workers"
        return f"DaskRunner({where})"

    @property
    def client(self) -> Client:
        if self._client is None:
            raise RuntimeError("DaskRunner: not started; use it in a `with` block")
        return self._client

    def __enter__(self) -> DaskRunner:
        if self._client is not None:
            raise RuntimeError("DaskRunner: already started")
        try:
            if self.scheduler is not None:
                self._client = self._connect(self.scheduler)
            else:
                self._client = self._start_local()
            self._check_workers(self._client)
        except BaseException:
            self._close()
            raise
        return self

    def _start_local(self) -> Client:
        try:
            with dask.config.set(LOCAL_CLUSTER_CONFIG):
                self._cluster = LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    # Without a dashboard the scheduler still opens an HTTP server, by
                    # default on port 8787 (taken if another cluster runs): a free one.
                    scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
                    security=self.security if self.security is not None else _local_security(),
                )
                return Client(self._cluster)
        except (OSError, TimeoutError, RuntimeError) as exc:
            raise ClusterError(f"cannot start a local Dask cluster: {exc}") from None

    def _check_workers(self, client: Client) -> None:
        """Workers import the miner now (not in the first task) and run this teamlens."""
        try:
            versions: dict[str, str] = client.run(_worker_ready)
        except ImportError as exc:
            raise ClusterError(
                f"the Dask workers cannot import teamlens ({exc}); install the same teamlens "
                "on them as here"
            ) from None
        wrong = sorted({v for v in versions.values() if v != teamlens.__version__})
        if wrong:
            raise ClusterError(
                f"the Dask workers run teamlens {', '.join(wrong)}, this is "
                f"{teamlens.__version__}; install the same version on them"
            )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close()

    def _connect(self, address: str) -> Client:
        scheme = urlsplit(address).scheme
        if scheme not in ("tcp", "tls", "ucx", "ws", "wss"):
            raise ClusterError(
                f"--scheduler {address}: expected an address such as tls://host:8786"
            )
        if scheme in ("tcp", "ws") and not _is_loopback(address):
            logger.warning(
                "teamlens: %s is not encrypted; the pseudonymisation key travels to the "
                "workers in the clear over the cluster's network (use tls://, docs/scale.md)",
                address,
            )
        try:
            if self.security is None:
                return Client(address)
            return Client(address, security=self.security)
        except Exception as exc:  # refused, timed out, TLS refused, not a Dask scheduler
            raise ClusterError(
                f"cannot connect to the Dask scheduler at {address} ({type(exc).__name__}: {exc})"
            ) from None

    def _close(self) -> None:
        client, cluster = self._client, self._cluster
        self._client = self._cluster = None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    @contextlib.contextmanager
    def _started(self) -> Iterator[Client]:
        if self._client is not None:
            yield self._client
            return
        with self:
            yield self.client

    # --- TaskRunner and RepositoryRunner ------------------------------------------------

    def run(
        self, tasks: Sequence[MiningTask], progress: ProgressCallback | None
    ) -> list[MiningReport]:
        """Mine each task's repository on a worker; reports in the order of the tasks."""
        run_key = KEY_ENV_PREFIX + secrets.token_hex(8).upper()
        keys: dict[tuple[object, ...], _Secret] = {}
        calls = []
        for task in tasks:
            where = (task.privacy, task.data_dir)
            if where not in keys:
                keys[where] = _secret(load_key(task.privacy, task.data_dir), task)
            # Each run's key has its own variable name on the workers: concurrent runs
            # (other clients of a shared cluster) can never pick up each other's key.
            # Tasks sharing a key share the name; tasks with different keys do not.
            name = f"{run_key}_{list(keys).index(where)}"
            shipped = dataclasses.replace(
                task, privacy=dataclasses.replace(task.privacy, key_env=name)
            )
            calls.append(_Call(task.label, _mine_on_worker, (shipped, keys[where])))
        return self._execute("mine", calls, progress)

    def per_repository(
        self,
        fn: Callable[[Config, RepositoryConfig, ProgressCallback | None], R],
        config: Config,
        repos: Sequence[RepositoryConfig],
        progress: ProgressCallback | None,
    ) -> list[R]:
        """``fn(config, repo, progress)`` for each repository on a worker, in order."""
        stage = getattr(fn, "__name__", "call").replace("_", "-")
        calls = [_Call(r.name, _call_on_worker, (fn, config, r)) for r in repos]
        return self._execute(stage, calls, progress)

    def _execute(
        self, stage: str, calls: Sequence[_Call], progress: ProgressCallback | None
    ) -> list[Any]:
        if not calls:
            return []
        run_id = secrets.token_hex(8)
        relay = _Relay(run_id, progress) if progress is not None else None
        results: list[Any] = [None] * len(calls)
        failures: dict[int, BaseException] = {}
        with self._started() as client:
            if relay is not None:
                client.subscribe_topic(PROGRESS_TOPIC, relay.on_event)
            try:
                index: dict[Future[Any], int] = {}
                for i, call in enumerate(calls):
                    future = client.submit(
                        call.fn,
                        *call.args,
                        run_id if relay is not None else None,
                        key=f"teamlens-{stage}-{call.repo}-{run_id}",
                        pure=False,
                    )
                    index[future] = i
                for future in as_completed(list(index)):
                    i = index.pop(future)
                    try:
                        results[i] = future.result()
                    except Exception as exc:  # the task's error, re-raised here by Dask
                        failures[i] = exc
                    else:
                        if relay is not None:
                            relay.finish(calls[i].repo)
                    future.release()  # the scheduler forgets the task (and its key) now
            finally:
                if relay is not None:
                    with contextlib.suppress(Exception):
                        client.unsubscribe_topic(PROGRESS_TOPIC)
        if failures:
            raise _first_failure(calls, failures)
        return results


def _secret(key: bytes, task: MiningTask) -> _Secret:
    try:
        text = key.decode("utf-8")
    except UnicodeDecodeError:
        text = "\0"
    if "\0" in text:
        raise KeyFileError(
            f"repository {task.repository.name!r}: the pseudonymisation key is not UTF-8 "
            "text, so it cannot be handed to Dask workers; mine without --workers/--scheduler "
            "or use a text key (`teamlens` creates hex keys)"
        )
    return _Secret(key)


def _first_failure(calls: Sequence[_Call], failures: dict[int, BaseException]) -> BaseException:
    first = min(failures)
    error = _named(calls[first].repo, failures[first])
    others = [calls[i].repo for i in sorted(failures) if i != first]
    if not others:
        return error
    listed = ", ".join(others[:MAX_NAMED_FAILURES]) + (
        ", ..." if len(others) > MAX_NAMED_FAILURES else ""
    )
    more = f"{len(others)} more repositories failed too: {listed}"
    if isinstance(error, TeamlensError):
        return _with_message(error, f"{error} ({more})")
    error.add_note(more)
    return error


def _with_message(exc: BaseException, message: str) -> BaseException:
    """The same kind of error with another message (a note if it cannot be rebuilt)."""
    try:
        rebuilt = type(exc)(message)
    except TypeError:  # a subclass with another constructor: keep it, add a note
        exc.add_note(message)
        return exc
    return rebuilt.with_traceback(exc.__traceback__)
