"""`python -m handoff_service`: run the web service with settings from the environment."""
import logging
import sys

from aiohttp import web

from bot.settings import ConfigurationError, Settings
from handoff_service.app import create_app


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env()
        app = create_app(settings)
    except ConfigurationError as e:
        print(f"web service: {e}", file=sys.stderr)
        return 2
    # No access log: paths and query strings are not worth the risk of logging customer data.
    logging.getLogger("handoff_service").info("web service listening on http://%s:%s", settings.host, settings.web_port)
    web.run_app(app, host=settings.host, port=settings.web_port, print=None, access_log=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
