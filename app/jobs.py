"""Background jobs: RQ on Redis, enqueued only after the database transaction commits.

``enqueue(func, *args)`` records a job on the current SQLAlchemy session; nothing leaves the process
until that session commits, and a rollback forgets it. So a worker never runs a job for a row that
was not committed (the job might otherwise run before the commit and see nothing).

Dispatchers, chosen by configuration:
- ``RQDispatcher`` when ``REDIS_URL`` is set: jobs go to RQ queues, run by ``flask worker``.
- ``InlineDispatcher`` otherwise: each job runs right after the commit, in the same process, in its own
  app context (so with its own database session).
- ``RecordingDispatcher`` in tests: jobs are kept in a list and run when the test says so.

Job functions take ids and plain values, open their own transaction, and are safe to run twice.

Each job remembers the request id of the request (or job) that enqueued it, in RQ's job meta, not in its
arguments; every run logs one line with it, its job id, duration and outcome (``app.logs.job_logged``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import click
from flask import Flask, current_app, has_app_context
from flask.cli import with_appcontext
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction
from werkzeug.utils import import_string

from app import logs
from app.extensions import db

log = logging.getLogger(__name__)

PENDING_KEY = "marketplace.pending_jobs"
MARKS_KEY = "marketplace.pending_jobs_savepoints"
RETRY_INTERVALS = (10, 60, 300)


@dataclass(frozen=True)
class JobRequest:
    path: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    queue: str = "default"
    # Who asked, for the logs: not part of what the job is (two requests asking the same are one job).
    request_id: str | None = field(default=None, compare=False)

    def run(self) -> Any:
        return import_string(self.path)(*self.args, **self.kwargs)

    def run_logged(self, job_id: str | None = None) -> Any:
        """``run``, with the job's ids on every line it logs and one line for its outcome."""
        with logs.job_logged(self.path, job_id, self.request_id):
            return self.run()


def enqueue(func: Callable[..., Any], *args: Any, queue: str = "default", **kwargs: Any) -> None:
    """Run ``func(*args, **kwargs)`` in the background once the current transaction commits."""
    enqueue_on(db.session(), func, *args, queue=queue, **kwargs)


def enqueue_on(
    session: Session,
    func: Callable[..., Any],
    *args: Any,
    queue: str = "default",
    once: bool = False,
    **kwargs: Any,
) -> None:
    """``enqueue`` on a given session (a flush event's). With ``once``, a job already waiting for this
    transaction with the same function and arguments is not added again."""
    path = f"{func.__module__}.{func.__qualname__}"
    if import_string(path, silent=True) is not func:
        raise ValueError(f"{path} is not importable by that name: jobs must be module-level functions")
    if not session.in_transaction():
        session.begin()  # so that a rollback, even before any SQL, is seen and forgets the job
    pending: list[JobRequest] = session.info.setdefault(PENDING_KEY, [])
    request = JobRequest(path, args, kwargs, queue, request_id=logs.current_request_id())
    if once and request in pending:
        return
    pending.append(request)


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session: Session) -> None:
    # SQLAlchemy also calls this when a savepoint is released: its jobs wait for the real commit.
    if session.in_nested_transaction():
        return
    pending: list[JobRequest] = session.info.pop(PENDING_KEY, [])
    if pending:
        current_app.extensions["jobs"].dispatch(pending)


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        session.info.setdefault(MARKS_KEY, {})[id(transaction)] = len(session.info.get(PENDING_KEY, []))


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    """A rollback forgets the jobs of what it undid: all of them, or those since the savepoint."""
    mark = session.info.get(MARKS_KEY, {}).pop(id(previous_transaction), None)
    if previous_transaction.nested and mark is not None:
        del session.info.get(PENDING_KEY, [])[mark:]
    else:
        session.info.pop(PENDING_KEY, None)
        session.info.pop(MARKS_KEY, None)


def execute(path: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """What a worker runs for every job: the job inside an app context with its own session."""
    from rq import get_current_job

    from app import create_app

    app = current_app._get_current_object() if has_app_context() else create_app()  # type: ignore[attr-defined]
    rq_job = get_current_job()
    job_id = rq_job.id if rq_job is not None else None
    request_id = rq_job.meta.get("request_id") if rq_job is not None else None
    with app.app_context():
        try:
            return JobRequest(path, tuple(args), dict(kwargs), request_id=request_id).run_logged(job_id)
        finally:
            db.session.remove()


class RQDispatcher:
    name = "rq"

    def __init__(self, redis_url: str) -> None:
        from redis import Redis

        self.redis_url = redis_url
        self.connection = Redis.from_url(redis_url)

    def queue(self, name: str) -> Any:
        from rq import Queue

        return Queue(name, connection=self.connection)

    def dispatch(self, jobs: list[JobRequest]) -> None:
        from rq import Retry

        for job in jobs:
            self.queue(job.queue).enqueue(
                execute,
                job.path,
                job.args,
                job.kwargs,
                retry=Retry(max=len(RETRY_INTERVALS), interval=list(RETRY_INTERVALS)),
                description=job.path,
                meta={"request_id": job.request_id},
            )

    def ping(self) -> bool:
        return bool(self.connection.ping())


class InlineDispatcher:
    name = "inline"

    def __init__(self, app: Flask) -> None:
        self.app = app

    def dispatch(self, jobs: list[JobRequest]) -> None:
        for job in jobs:
            # A new app context gives the job its own session: the committing one cannot run SQL now.
            with self.app.app_context():
                try:
                    job.run_logged()
                except Exception:
                    # The transaction that asked for the job has committed; a failing job must not
                    # turn the request into an error. With Redis, RQ would retry it. (The job's own
                    # line, logged by run_logged, carries the exception.)
                    log.warning("inline job %s failed and will not be retried", job.path)
                finally:
                    db.session.remove()

    def ping(self) -> bool:
        return True


class RecordingDispatcher:
    """Keeps committed jobs for a test to inspect and run."""

    name = "recording"

    def __init__(self) -> None:
        self.jobs: list[JobRequest] = []

    def dispatch(self, jobs: list[JobRequest]) -> None:
        self.jobs.extend(jobs)

    def run_all(self, queues: Collection[str] | None = None) -> int:
        """Run the recorded jobs of these queues (all by default), and those they enqueue, in the
        current app context; return the count. Jobs of other queues stay recorded."""
        count = 0
        while True:
            job = next((job for job in self.jobs if queues is None or job.queue in queues), None)
            if job is None:
                return count
            self.jobs.remove(job)
            job.run_logged()
            count += 1

    def ping(self) -> bool:
        return True


Dispatcher = RQDispatcher | InlineDispatcher | RecordingDispatcher


def init_app(app: Flask) -> None:
    dispatcher: Dispatcher
    if app.config.get("JOBS_DISPATCHER") == "recording":
        dispatcher = RecordingDispatcher()
    elif app.config["REDIS_URL"]:
        dispatcher = RQDispatcher(app.config["REDIS_URL"])
    else:
        dispatcher = InlineDispatcher(app)
    app.extensions["jobs"] = dispatcher


@click.command("worker")
@click.option("--burst", is_flag=True, help="Exit once the queues are empty.")
@click.argument("queues", nargs=-1)
@with_appcontext
def worker_command(burst: bool, queues: tuple[str, ...]) -> None:
    """Run an RQ worker, with its scheduler, on the app's queues."""
    from rq import Worker

    dispatcher = current_app.extensions["jobs"]
    if not isinstance(dispatcher, RQDispatcher):
        raise click.ClickException("REDIS_URL is not set: jobs run inline, there is nothing to work on.")
    names = queues or current_app.config["RQ_QUEUES"]
    worker = Worker([dispatcher.queue(name) for name in names], connection=dispatcher.connection)
    worker.work(burst=burst, with_scheduler=True)


# The periodic jobs of every domain: (function, every so many seconds). Domains list theirs in tasks.py.
SCHEDULES = (
    "app.orders.tasks.SCHEDULE",
    "payouts.tasks.SCHEDULE",
    "app.reviews.tasks.SCHEDULE",
    "app.manager.tasks.SCHEDULE",
    "app.favourites.tasks.SCHEDULE",
    "app.visits.tasks.SCHEDULE",
    "search.tasks.SCHEDULE",
    "app.figures.tasks.SCHEDULE",
    "app.accounts.tasks.SCHEDULE",
    "app.ops.tasks.SCHEDULE",
    "api.webhooks.tasks.SCHEDULE",
    "api.tasks.SCHEDULE",
)


def schedule() -> list[tuple[Callable[..., Any], int]]:
    return [entry for path in SCHEDULES for entry in import_string(path)]


@click.command("cron")
@with_appcontext
def cron_command() -> None:
    """Enqueue the periodic jobs on their schedule (run one next to the workers; needs REDIS_URL)."""
    from rq.cron import CronScheduler

    dispatcher = current_app.extensions["jobs"]
    if not isinstance(dispatcher, RQDispatcher):
        raise click.ClickException(
            "REDIS_URL is not set: run the jobs' commands from the system's cron instead."
        )
    scheduler = CronScheduler(connection=dispatcher.connection)
    for func, every in schedule():
        path = f"{func.__module__}.{func.__qualname__}"
        scheduler.register(execute, "default", args=(path, (), {}), interval=every, name=path)
        click.echo(f"{path}: every {every} s")
    scheduler.start()
