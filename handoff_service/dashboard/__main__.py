"""``python -m handoff_service.dashboard rebuild``: recompute the dashboard's summary
tables from Rasa's raw event stream and the desk's handoff records.

Safe to run while the service runs (the live consumer's later events land on top).
Settings (the app and event-stream database URLs, SERVICE_LEVEL_SECONDS) come from the
environment, as for the service itself.
"""
from __future__ import annotations

import argparse
import sys

from bot.database import create_engine
from bot.settings import ConfigurationError, Settings
from handoff_service.dashboard.summary import rebuild
from handoff_service.events import SqlEventSource


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m handoff_service.dashboard", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("rebuild", help="recompute the summary tables from the raw events and handoff records")
    parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigurationError as error:
        print(error, file=sys.stderr)
        return 2
    engine = create_engine(settings.database_url)
    source = SqlEventSource(settings.rasa_events_db_url)
    try:
        result = rebuild(engine, source, settings.service_level_seconds)
    finally:
        source.dispose()
        engine.dispose()
    print(f"rebuilt from {result['events']} events: {result['conversations']} conversations, "
          f"{result['kept']} kept from before the oldest retained event")
    return 0


if __name__ == "__main__":
    sys.exit(main())
