"""`make eval`: the privacy recogniser (bot/privacy) on the labelled corpus in
tests/data/privacy_corpus.jsonl: precision and recall per kind, false positives on
messages that hold nothing, and the recogniser's cost per message.

A predicted span counts when it overlaps a labelled span of the same kind; secrets
(pin / otp / password) are scored as one class too, since which of them a short
number is matters less than that it is masked. Also used by tests/test_privacy.py.
"""
from __future__ import annotations

import json
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List

from bench import report
from bench.report import pct
from bot.privacy import PERSONAL_KINDS, SECRET_KINDS, find
from bot.settings import PROJECT_ROOT

CORPUS = PROJECT_ROOT / "tests" / "data" / "privacy_corpus.jsonl"
COMMAND = "make eval"


def load_corpus(path: Path = CORPUS) -> List[Dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _group(kind: str) -> str:
    return "secret" if kind in SECRET_KINDS else kind


@dataclass
class Scores:
    true_positives: Counter = field(default_factory=Counter)
    false_positives: Counter = field(default_factory=Counter)
    false_negatives: Counter = field(default_factory=Counter)
    empty_messages: int = 0  # ordinary messages and near misses: nothing to find
    flagged_empty_messages: int = 0
    mistakes: List[str] = field(default_factory=list)

    def precision(self, kind: str) -> float:
        found = self.true_positives[kind] + self.false_positives[kind]
        return self.true_positives[kind] / found if found else 1.0

    def recall(self, kind: str) -> float:
        expected = self.true_positives[kind] + self.false_negatives[kind]
        return self.true_positives[kind] / expected if expected else 1.0

    def recall_of(self, kinds) -> float:
        tp = sum(self.true_positives[k] for k in kinds)
        expected = tp + sum(self.false_negatives[k] for k in kinds)
        return tp / expected if expected else 1.0

    @property
    def false_positive_rate(self) -> float:
        return self.flagged_empty_messages / self.empty_messages if self.empty_messages else 0.0


def score(corpus: List[Dict]) -> Scores:
    scores = Scores()
    for item in corpus:
        predicted = find(item["text"], expecting=item.get("expecting"))
        gold = item["spans"]
        matched = set()
        for g in gold:
            hit = next((i for i, p in enumerate(predicted) if i not in matched and _group(p.kind) == _group(g["kind"])
                        and p.start < g["end"] and g["start"] < p.end), None)
            for kind in {g["kind"], _group(g["kind"])}:
                if hit is None:
                    scores.false_negatives[kind] += 1
                else:
                    scores.true_positives[kind] += 1
            if hit is None:
                scores.mistakes.append(f"missed {g['kind']} {g['text']!r} in {item['text']!r}")
            else:
                matched.add(hit)
        for i, p in enumerate(predicted):
            if i not in matched:
                for kind in {p.kind, _group(p.kind)}:
                    scores.false_positives[kind] += 1
                scores.mistakes.append(f"extra {p.kind} {item['text'][p.start:p.end]!r} in {item['text']!r}")
        if not gold:
            scores.empty_messages += 1
            scores.flagged_empty_messages += bool(predicted)
    return scores


def cost_per_message_ms(corpus: List[Dict], rounds: int = 5) -> List[float]:
    find("warm up 13800138000 密码1234")  # builds the pipelines once per process
    timings = []
    for _ in range(rounds):
        for item in corpus:
            started = time.perf_counter()
            find(item["text"], expecting=item.get("expecting"))
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def main() -> int:
    corpus = load_corpus()
    scores = score(corpus)
    timings = cost_per_message_ms(corpus)
    kinds = sorted(SECRET_KINDS) + ["secret"] + sorted(PERSONAL_KINDS)
    languages = Counter(item["lang"] for item in corpus)
    lines = [
        "## Privacy recogniser (`make eval`)",
        "",
        f"{len(corpus)} labelled messages in `tests/data/privacy_corpus.jsonl` "
        f"({', '.join(f'{n} {lang}' for lang, n in sorted(languages.items()))}), "
        f"measured {time.strftime('%Y-%m-%d')}. A span counts when it overlaps a labelled one of the same kind.",
        "",
        "| kind | labelled | precision | recall |",
        "|---|---|---|---|",
    ]
    rows = []
    for kind in kinds:
        labelled = scores.true_positives[kind] + scores.false_negatives[kind]
        lines.append(f"| {kind} | {labelled} | {scores.precision(kind):.1%} | {scores.recall(kind):.1%} |")
        rows += [
            {"name": f"privacy {kind} precision", "value": round(scores.precision(kind) * 100, 1), "unit": "%",
             "command": COMMAND},
            {"name": f"privacy {kind} recall", "value": round(scores.recall(kind) * 100, 1), "unit": "%",
             "command": COMMAND},
        ]
    personal_recall = scores.recall_of(PERSONAL_KINDS)
    p50, p95 = statistics.median(timings), pct(timings, 95)
    rows += [
        {"name": "privacy personal data recall", "value": round(personal_recall * 100, 1), "unit": "%",
         "command": COMMAND},
        {"name": "privacy false positives on ordinary messages", "value": round(scores.false_positive_rate * 100, 1),
         "unit": "%", "command": COMMAND},
        {"name": "privacy recogniser cost per message p95", "value": round(p95, 3), "unit": "ms", "command": COMMAND},
    ]
    lines += [
        "",
        f"- secrets recall {scores.recall('secret'):.1%} (target 100%), personal data recall "
        f"{personal_recall:.1%} (target ≥ 99%)",
        f"- false positives: {scores.flagged_empty_messages} of {scores.empty_messages} ordinary messages and near "
        f"misses ({scores.false_positive_rate:.1%}, target ≤ 1%)",
        f"- cost per message (`find`, one process, pipelines built): p50 {p50:.2f} ms, p95 {p95:.2f} ms "
        f"(target ≤ 2 ms), {len(timings)} calls",
    ]
    lines += [
        "",
        "The rules were written with the first 375 messages. The last 82 (written afterwards, scored",
        "before any change, 2026-11-29) found: secrets recall 89.5% (17 of 19), personal data recall",
        "90.0%, no false positive on 47 ordinary messages. Three rules were fixed (cue window, \"PIN's\",",
        "a cue that has its own number) and three labels corrected (two UK numbers in ranges",
        "phonenumbers knows to be unallocated, a second mistyped PIN). Figures on wording nobody has",
        "tuned for will be lower than the table's.",
    ]
    if scores.mistakes:
        lines += ["", "Mistakes:", *[f"- {m}" for m in scores.mistakes]]
    report.update_json(rows)
    report.write_section("privacy-eval", "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
