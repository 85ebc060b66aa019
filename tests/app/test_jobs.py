"""Jobs leave the process only after the transaction commits."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from redis import Redis
from rq import Queue, SimpleWorker

from app import create_app, jobs
from app.accounts.models import User
from app.extensions import db
from tests.factories import UserFactory
from tests.plugins.application import jobs as recorded

CALLS: list[tuple[object, ...]] = []


def remember(*args: object) -> None:
    """A job for these tests."""
    CALLS.append(args)


def rename_user(user_id: int, first_name: str) -> None:
    """A job that writes, in its own session."""
    user = db.session.get(User, user_id)
    assert user is not None
    user.first_name = first_name
    db.session.commit()


@pytest.fixture(autouse=True)
def _clear_calls() -> None:
    CALLS.clear()


def test_a_job_is_dispatched_only_when_the_transaction_commits(app: Flask, db_session) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        jobs.enqueue(remember, 1)
        assert recorded(app).jobs == []
        db.session.commit()
    assert [job.args for job in recorded(app).jobs] == [(1,)]


def test_a_rollback_forgets_the_job(app: Flask, db_session) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        jobs.enqueue(remember, 2)
        db.session.rollback()
        db.session.commit()
    assert recorded(app).jobs == []


def test_a_savepoint_rollback_forgets_only_its_own_jobs(app: Flask, db_session) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        jobs.enqueue(remember, "kept")
        savepoint = db.session.begin_nested()
        jobs.enqueue(remember, "undone")
        savepoint.rollback()
        db.session.commit()
    assert [job.args for job in recorded(app).jobs] == [("kept",)]


def test_a_released_savepoint_does_not_send_the_jobs_before_the_commit(app: Flask, db_session) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        jobs.enqueue(remember, "before")
        with db.session.begin_nested():
            jobs.enqueue(remember, "inside")
        assert recorded(app).jobs == [], "a savepoint is not the commit"
        db.session.commit()
    assert [job.args for job in recorded(app).jobs] == [("before",), ("inside",)]


def test_only_module_level_functions_can_be_jobs(app: Flask, db_session) -> None:  # type: ignore[no-untyped-def]
    def local() -> None:
        pass

    with app.app_context(), pytest.raises(ValueError, match="not importable"):
        jobs.enqueue(local)


def test_rq_receives_the_job_after_commit_and_a_worker_runs_it(
    app: Flask, db_session, redis_url: str
) -> None:  # type: ignore[no-untyped-def]
    dispatcher = jobs.RQDispatcher(redis_url)
    queue = dispatcher.queue("default")
    queue.empty()
    original = app.extensions["jobs"]
    app.extensions["jobs"] = dispatcher
    try:
        with app.app_context():
            jobs.enqueue(remember, "from-rq")
            assert queue.count == 0, "nothing is sent before the commit"
            db.session.commit()
        assert queue.count == 1
        job = queue.jobs[0]
        assert job.args[0] == "tests.app.test_jobs.remember"
        assert job.retries_left == len(jobs.RETRY_INTERVALS)
        with app.app_context():
            SimpleWorker([queue], connection=Redis.from_url(redis_url)).work(burst=True)
        assert CALLS == [("from-rq",)]
        assert queue.count == 0
    finally:
        app.extensions["jobs"] = original
        Queue("default", connection=Redis.from_url(redis_url)).empty()


def test_inline_jobs_run_after_commit_in_their_own_session(tmp_path: Path) -> None:
    """Without Redis, a job runs right after the commit and sees (and writes) committed data."""
    application = create_app(
        {
            "APP_ENV": "testing",
            "SECRET_KEY": "inline",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'inline.sqlite'}",
            "REDIS_URL": None,
            "PASSWORD_HASH_CHEAP": True,
        }
    )
    assert isinstance(application.extensions["jobs"], jobs.InlineDispatcher)
    with application.app_context():
        db.create_all()
        user = UserFactory.build(first_name="Avant")
        db.session.add(user)
        db.session.flush()
        jobs.enqueue(rename_user, user.id, "Après")
        db.session.commit()
        db.session.expire_all()
        assert db.session.scalar(sa.select(User.first_name)) == "Après"
        db.engine.dispose()
