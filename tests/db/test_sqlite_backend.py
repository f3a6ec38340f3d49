"""painpump.db.sqlite3 on a file of its own: a reading transaction reads a snapshot beside a writer
and refuses to write; writers wait for each other in turn; the write lock is never left held."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import OperationalError, connections

from painpump.db.read_only import read_only
from painpump.db.sqlite3.base import DatabaseWrapper

pytestmark = pytest.mark.django_db(transaction=True)


def wrapper(file: Path, alias: str) -> DatabaseWrapper:
    settings = {
        **connections["default"].settings_dict,
        "NAME": str(file),
        "ENGINE": "painpump.db.sqlite3",
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL",
        },
        "TEST": {},
        "ATOMIC_REQUESTS": False,
    }
    return DatabaseWrapper(settings, alias)


@pytest.fixture
def file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "scratch.sqlite3"
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE dose (id INTEGER PRIMARY KEY, mcg INTEGER)")
        setup.execute("INSERT INTO dose VALUES (1, 100)")
    setup.close()
    yield path


def read(db: DatabaseWrapper) -> int:
    with db.cursor() as cursor:
        cursor.execute("SELECT mcg FROM dose WHERE id = 1")
        return int(cursor.fetchone()[0])


def write(db: DatabaseWrapper, mcg: int) -> None:
    with db.cursor() as cursor:
        cursor.execute("UPDATE dose SET mcg = %s WHERE id = 1", [mcg])


def begin(db: DatabaseWrapper) -> None:
    db.ensure_connection()
    db._start_transaction_under_autocommit()


def test_the_database_runs_in_write_ahead_log_mode(file: Path) -> None:
    db = wrapper(file, "wal")
    try:
        with db.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            assert cursor.fetchone()[0] == "wal"
    finally:
        db.close()


def test_a_reading_transaction_refuses_a_write_and_changes_nothing(file: Path) -> None:
    db = wrapper(file, "reader")
    try:
        with read_only():
            begin(db)
            with pytest.raises(OperationalError, match="readonly"):
                write(db, 1000)
            db.rollback()
        assert read(db) == 100
        begin(db)
        write(db, 150)
        db.commit()
        assert read(db) == 150
    finally:
        db.close()


def test_a_reader_keeps_its_snapshot_while_a_writer_commits_beside_it(file: Path) -> None:
    reader, writer = wrapper(file, "reader"), wrapper(file, "writer")
    try:
        with read_only():
            begin(reader)
            assert read(reader) == 100
        began = time.monotonic()
        begin(writer)
        write(writer, 200)
        writer.commit()
        assert time.monotonic() - began < 5, "the writer waited for the reader"
        assert read(reader) == 100
        reader.commit()
        assert read(reader) == 200
    finally:
        reader.close()
        writer.close()


def test_a_writer_waits_for_the_one_before_it_and_goes_on_when_it_commits(file: Path) -> None:
    first = wrapper(file, "first")
    order: list[str] = []

    def later() -> None:
        second = wrapper(file, "second")
        begin(second)
        order.append("second began")
        write(second, read(second) + 1)
        second.commit()
        second.close()

    try:
        begin(first)
        write(first, 300)
        waiting = threading.Thread(target=later)
        waiting.start()
        time.sleep(0.3)
        assert order == [], "the second writer began while the first held the write lock"
        order.append("first commits")
        first.commit()
        waiting.join(timeout=20)
        assert order == ["first commits", "second began"]
        assert read(first) == 301
    finally:
        first.close()


def test_a_failed_begin_and_a_rollback_leave_the_queue(file: Path) -> None:
    first, second = wrapper(file, "first"), wrapper(file, "second")
    try:
        begin(first)
        first.rollback()
        begin(second)
        write(second, 400)
        second.commit()
        first.close()
        begin(second)
        second.commit()
        assert read(second) == 400
    finally:
        first.close()
        second.close()
