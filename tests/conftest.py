"""Shared fixtures.

Database tests run on SQLite always and on PostgreSQL too when TEST_DATABASE_URL is
set (CI sets it): each PostgreSQL run gets a database of its own, dropped after.
"""
from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

from bot.database import create_engine, migrate


def _database_params():
    params = ["sqlite"]
    if os.environ.get("TEST_DATABASE_URL"):
        params.append("postgresql")
    return params


@pytest.fixture(scope="session")
def postgres_server_url():
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set")
    return url


def _create_pg_database(server_url: str) -> tuple:
    name = f"supportbot_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(server_url).set(database=name)
    return admin, name, url.render_as_string(hide_password=False)


def _drop_pg_database(admin, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=_database_params())
def database_url(request, tmp_path):
    """A freshly migrated, empty app database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'app.db'}"
        migrate(url)
        yield url
        return
    admin, name, url = _create_pg_database(os.environ["TEST_DATABASE_URL"])
    try:
        migrate(url)
        yield url
    finally:
        _drop_pg_database(admin, name)


@pytest.fixture
def engine(database_url):
    engine = create_engine(database_url)
    yield engine
    engine.dispose()
