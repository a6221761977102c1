"""Starts the Rasa server (``rasa run``) with its HTTP API token read from the environment.

``rasa run --auth-token SECRET`` would show the token to anyone on the machine who
lists processes; here it goes from ``RASA_TOKEN`` straight into Rasa's own command
line parser inside this process. Every other argument is passed to ``rasa run``.

It also loads jieba's dictionary before the server reports healthy; Rasa's
JiebaTokenizer would otherwise load it while the first customer waits (~1 s).
"""
from __future__ import annotations

import logging
import os
import sys
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> None:
    token = os.environ.get("RASA_TOKEN")
    if not token:
        sys.exit("RASA_TOKEN must be set in the environment (`make run` creates it in var/secrets.env).")
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    from rasa.__main__ import main as rasa_main

    args = sys.argv[1:] if argv is None else argv
    sys.argv = ["rasa", "run", "--enable-api", "--auth-token", token, *args]
    rasa_main()


if __name__ == "__main__":
    main()
