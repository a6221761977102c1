"""`make eval-conversation`: the general conversation flows, as Rasa conversation tests.

tests/stories/test_conversation_<script>.yml hold one test story per flow (greet, goodbye,
thanks, affirm / deny, "are you a robot", chitchat, complaint, frustration, nudge, several
quick messages, out of scope, fallback → clarification → a person) in each script.
`rasa test core` runs them against the bot's model (the one `make run` and the integration
tests use, trained when the data changed): every message goes through NLU and every reply
is the policies' prediction, so a story fails on a misunderstood message or a wrong reply.
Actions are predicted, not run (what they say is the integration tests' business).
Rows: stories passed per script; the failed ones are listed under the table.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import yaml

from bench import report
from bench.report import row
from bot.settings import PROJECT_ROOT, Settings

STORIES = PROJECT_ROOT / "tests" / "stories"


def story_names(path: Path) -> List[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    return [s["story"] for s in (data or {}).get("stories") or []]


def run_stories(model: str, stories: Path, out: Path) -> Tuple[List[str], List[str]]:
    """(all story names, failed story names) of one test-story file."""
    from rasa.model_testing import test_core

    asyncio.run(test_core(model=model, stories=str(stories), output=str(out)))
    # Rasa names a failed story after the test story, with a note on the wrong prediction.
    failed_names = story_names(out / "failed_test_stories.yml")
    names = story_names(stories)
    failed = [n for n in names if any(f == n or f.startswith(n + " ") for f in failed_names)]
    return names, failed


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a trained model (default: the bot's, trained if the data changed)")
    parser.add_argument("--scripts", nargs="*", default=["zh-Hans", "zh-Hant", "en"])
    args = parser.parse_args(argv)
    command = "python -m bench.eval_conversation " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    from rasa.utils.common import configure_logging_and_warnings

    configure_logging_and_warnings(logging.WARNING)
    if args.model:
        model = args.model
    else:
        from bot.launcher import train_if_needed

        model = str(train_if_needed(Settings.from_env()))
    rows: List[Dict] = []
    failures: List[str] = []
    with tempfile.TemporaryDirectory(prefix="eval-conversation-") as tmp:
        for script in args.scripts:
            names, failed = run_stories(model, STORIES / f"test_conversation_{script}.yml", Path(tmp) / script)
            passed = len(names) - len(failed)
            rows.append(row(f"conversation tests {script}: stories passed ({len(names)} flows)",
                            round(100.0 * passed / len(names), 1) if names else 0.0, "%", command))
            failures += [f"- failed: {name}" for name in failed]
    report.update_json(rows)
    table = ["## Conversation tests (`make eval`)", "",
             "One `rasa test core` story per general flow and script (tests/stories/), on the bot's model.", "",
             "| figure | value | unit | command | date |", "|---|---|---|---|---|"]
    table += [f"| {r['name']} | {r['value']} | {r['unit']} | `{r['command']}` | {r['date']} |" for r in rows]
    report.write_section("conversation-eval", "\n".join(table + [""] + (failures or ["Every story passed."])))
    for r in rows:
        print(f"{r['name']}: {r['value']} {r['unit']}")
    print("\n".join(failures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
