"""Replays the parses `bench.eval_nlu --dump DIR` wrote under other fallback settings, without
retraining: how the FallbackClassifier's threshold and ambiguity threshold trade accuracy
against out-of-scope recall (docs/nlu.md).

    python -m bench.nlu_replay DIR

The classifier's ranking is kept in each parse even where a fallback said "unsure", so any
threshold can be applied afterwards.  (The unknown-words fallback needs the training
vocabulary; it was replayed once and never fired on the public sets, see docs/nlu.md.)
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from bench.eval_nlu import UNSURE, accuracy, recall_of

THRESHOLDS = [None, 0.1, 0.2, 0.3, 0.45]
AMBIGUITY = [0.0, 0.05, 0.1]


def decide(parse: Dict, threshold: Optional[float], ambiguity: float) -> str:
    """The FallbackClassifier's verdict on the classifier's own ranking."""
    ranking = [g for g in parse.get("intent_ranking") or [] if g.get("name") != UNSURE]
    if not ranking:
        return UNSURE
    top = ranking[0]
    if threshold is not None:
        if top["confidence"] < threshold:
            return UNSURE
        if len(ranking) > 1 and top["confidence"] - ranking[1]["confidence"] < ambiguity:
            return UNSURE
    return top["name"]


def scores(parses: Sequence[Dict], threshold: Optional[float], ambiguity: float) -> str:
    gold = [p["gold"] for p in parses]
    predicted = [decide(p, threshold, ambiguity) for p in parses]
    if "oos" in gold:  # CLINC150: "unsure" counts as out of scope
        predicted = ["oos" if p == UNSURE else p for p in predicted]
        in_scope = [(g, p) for g, p in zip(gold, predicted) if g != "oos"]
        return (f"in-scope {accuracy(*zip(*in_scope)):.1f}  oos recall {recall_of('oos', gold, predicted, ['oos']):.1f}"
                f"  accuracy {accuracy(gold, predicted):.1f}")
    line = f"accuracy {accuracy(gold, predicted):.1f}"
    if "out_of_scope" in gold:
        line += f"  out-of-scope recall {recall_of('out_of_scope', gold, predicted, ['out_of_scope']):.1f}"
    return line


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dump", type=Path)
    args = parser.parse_args(argv)
    for path in sorted(args.dump.glob("*.jsonl")):
        parses = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        print(path.stem)
        for threshold, ambiguity in itertools.product(THRESHOLDS, AMBIGUITY):
            if threshold is None and ambiguity:
                continue
            print(f"  threshold {threshold}, ambiguity {ambiguity}: {scores(parses, threshold, ambiguity)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
