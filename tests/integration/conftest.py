import os

import pytest

from tests.conftest import _create_pg_database, _drop_pg_database
from tests.integration.stack import Stack


def _kinds():
    return ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(scope="session", params=_kinds())
def stack(request, tmp_path_factory):
    """The whole stack, once per database kind per test session."""
    var_dir = tmp_path_factory.mktemp(f"stack-{request.param}")
    created = []
    urls = {}
    if request.param == "postgresql":
        # App data, Rasa's tracker store and its event broker each in their own
        # database: the tracker store and the broker both create a table `events`.
        for key in ("database_url", "rasa_tracker_db_url", "rasa_events_db_url"):
            admin, name, url = _create_pg_database(os.environ["TEST_DATABASE_URL"])
            created.append((admin, name))
            urls[key] = url
    stack = Stack.start(var_dir, urls)
    yield stack
    stack.stop()
    for admin, name in created:
        _drop_pg_database(admin, name)


@pytest.fixture
def customer(stack):
    """A web chat customer on socket.io."""
    c = stack.customer()
    yield c
    c.close()


@pytest.fixture
def agent(stack):
    """The demo agent, logged in and listening on the console's websocket."""
    a = stack.agent()
    a.listen()
    yield a
    a.close()


def pytest_collection_modifyitems(items):
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
