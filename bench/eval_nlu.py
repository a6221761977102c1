"""`make eval-nlu`: how well the NLU understands customers, written to docs/benchmarks.{json,md}.

* our held-out set (tests/data/nlu_heldout/, one file per script, written apart from
  data/): intent accuracy and out-of-scope recall of the bot's own model (config.yml,
  data/, domain.yml);
* public benchmarks, our pipeline (config.yml) and Rasa's stock one (the `rasa init`
  config: rasa/engine/recipes/config_files/default_config.yml) trained and tested in
  the same run: BANKING77 (Casanueva et al. 2020, CC BY 4.0) and CLINC150 (Larson et al.
  2019, CC BY 3.0) from ../shared/eval-data/.  CLINC150 is trained with its
  out-of-scope training queries as one more intent ("oos", the paper's oos-train
  setting); an oos query counts as recognised when the model says oos or is unsure
  (nlu_fallback).

CPU is scarce: `--limit-per-class`, `--test-limit-per-class`, `--max-classes` and
`--epochs` make a small version; rows from a small version carry the setting in their
name, so they never overwrite full-size figures.  Without any of them the public sets
run in the small version SMALL (what `make eval` can afford on a shared 2-core machine);
`--full` runs them whole, with every classifier's own epochs (hours on such a machine:
`make eval-nlu EVAL_NLU_ARGS=--full`).
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import os
import random
import shlex
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import yaml

from bench import report
from bench.report import row
from bot.settings import PROJECT_ROOT

Example = Tuple[str, str]  # (text, intent)
EVAL_DATA = PROJECT_ROOT.parent / "shared" / "eval-data"
HELDOUT = PROJECT_ROOT / "tests" / "data" / "nlu_heldout"
# A second held-out set, written by someone who had not seen the training data or the first set's
# misses, after the first had been looked at while the data was improved (docs/nlu.md).
HELDOUT_V2 = PROJECT_ROOT / "tests" / "data" / "nlu_heldout_v2"
HELDOUT_SETS = (("held-out", HELDOUT), ("held-out v2", HELDOUT_V2))
OUR_CONFIG = PROJECT_ROOT / "config.yml"
OUT_OF_SCOPE = "out_of_scope"
UNSURE = "nlu_fallback"
SMALL = {"limit_per_class": 10, "test_limit_per_class": 10, "epochs": 20}
NOTES = [
    "Public data: BANKING77 (Casanueva et al., \"Efficient Intent Detection with Dual Sentence Encoders\", 2020; CC BY 4.0);",
    "CLINC150 (Larson et al., \"An Evaluation Dataset for Intent Classification and Out-of-Scope Prediction\", EMNLP 2019; CC BY 3.0),",
    "trained with its oos training queries as an intent; an oos query counts as recognised when the model says oos or nlu_fallback.",
    "\"stock\" is Rasa's `rasa init` pipeline (WhitespaceTokenizer, count vectors, DIET 100 epochs); \"ours\" is config.yml.",
    "Held-out sets: tests/data/nlu_heldout (\"held-out\", looked at while the data was written: a development set) and",
    "tests/data/nlu_heldout_v2 (\"held-out v2\", written apart and never read while working on the data: the test set); docs/nlu.md.",
    "Rows whose name carries [..] are small versions (subset per class, fewer epochs): compare them only with each other.",
]


def stock_config_path() -> Path:
    import rasa.engine.recipes

    return Path(rasa.engine.recipes.__file__).parent / "config_files" / "default_config.yml"


# ---------------------------------------------------------------- data

def load_banking77() -> Tuple[List[Example], List[Example]]:
    def read(name):
        with open(EVAL_DATA / "banking77" / name, newline="", encoding="utf-8") as f:
            return [(r["text"], r["category"]) for r in csv.DictReader(f)]

    return read("train.csv"), read("test.csv")


def load_clinc150() -> Tuple[List[Example], List[Example]]:
    data = json.loads((EVAL_DATA / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
    return [tuple(e) for e in data["train"] + data["oos_train"]], [tuple(e) for e in data["test"] + data["oos_test"]]


def load_nlu_yaml(path: Path) -> List[Example]:
    from rasa.shared.nlu.training_data.loading import load_data

    return [(m.get("text"), m.get("intent")) for m in load_data(str(path)).intent_examples]


def subset(examples: Sequence[Example], per_class: Optional[int], max_classes: Optional[int], seed: int = 42,
           keep: Sequence[str] = ("oos",)) -> List[Example]:
    """At most `per_class` examples of each of the first `max_classes` intents (plus `keep`), seeded."""
    by_intent: Dict[str, List[Example]] = defaultdict(list)
    for example in examples:
        by_intent[example[1]].append(example)
    intents = sorted(by_intent)
    if max_classes:
        intents = sorted(set(sorted(i for i in intents if i not in keep)[:max_classes]) | (set(keep) & set(intents)))
    rng = random.Random(seed)
    chosen: List[Example] = []
    for intent in intents:
        group = list(by_intent[intent])
        rng.shuffle(group)
        chosen.extend(group[:per_class] if per_class else group)
    return chosen


def write_nlu_yaml(examples: Sequence[Example], path: Path) -> None:
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    messages = [Message(data={"text": " ".join(text.split()), "intent": intent}) for text, intent in examples]
    path.write_text(RasaYAMLWriter().dumps(TrainingData(training_examples=messages)), encoding="utf-8")


# ---------------------------------------------------------------- train and parse

def config_with_epochs(config_path: Path, epochs: Optional[int], out: Path) -> Path:
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config.pop("policies", None)
    if epochs:
        for component in config["pipeline"]:
            if "epochs" in component:
                component["epochs"] = epochs
    out.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return out


def train(config: Path, nlu_data: Path, out_dir: Path, domain: Optional[Path] = None) -> Tuple[str, float]:
    from rasa.model_training import train_nlu

    started = time.monotonic()
    model = train_nlu(str(config), str(nlu_data), str(out_dir), domain=str(domain) if domain else None)
    return model, time.monotonic() - started


def top_understood(parsed: Dict) -> str:
    """The classifier's own best guess, before any fallback turned it into nlu_fallback."""
    for guess in parsed.get("intent_ranking") or []:
        if guess.get("name") and guess["name"] != UNSURE:
            return guess["name"]
    return (parsed.get("intent") or {}).get("name") or ""


def parse_all(model: str, texts: Sequence[str], raw: Optional[List[str]] = None,
              parses: Optional[List[Dict]] = None) -> Tuple[List[str], List[float]]:
    """Predicted intent per text, and each parse's latency in ms (after one warm-up parse).
    `raw`, when given, receives the classifier's guesses without the fallback (top_understood);
    `parses` the intent and the top of the ranking of each (for --dump)."""
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(agent.parse_message("warm up"))
        predictions, latencies = [], []
        for text in texts:
            started = time.perf_counter()
            parsed = loop.run_until_complete(agent.parse_message(text))
            latencies.append((time.perf_counter() - started) * 1000)
            predictions.append((parsed.get("intent") or {}).get("name") or "")
            if raw is not None:
                raw.append(top_understood(parsed))
            if parses is not None:
                parses.append({"intent": parsed.get("intent"), "intent_ranking": (parsed.get("intent_ranking") or [])[:5]})
        return predictions, latencies
    finally:
        loop.close()


DUMP_DIR: Optional[Path] = None  # --dump: every parse as JSON lines, to study thresholds without retraining


def dump(work: Path, name: str, examples: Sequence[Example], parses: Sequence[Dict]) -> None:
    if DUMP_DIR is None:
        return
    DUMP_DIR.mkdir(parents=True, exist_ok=True)
    with open(DUMP_DIR / (name.replace("/", " per ") + ".jsonl"), "w", encoding="utf-8") as f:
        for (text, gold), parsed in zip(examples, parses):
            f.write(json.dumps({"text": text, "gold": gold, **parsed}, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------- metrics

def accuracy(gold: Sequence[str], predicted: Sequence[str]) -> float:
    return 100.0 * sum(g == p for g, p in zip(gold, predicted)) / len(gold) if gold else 0.0


def macro_f1(gold: Sequence[str], predicted: Sequence[str]) -> float:
    from sklearn.metrics import f1_score

    return 100.0 * f1_score(gold, predicted, labels=sorted(set(gold)), average="macro", zero_division=0)


def recall_of(label: str, gold: Sequence[str], predicted: Sequence[str], accepted: Sequence[str]) -> float:
    pairs = [(g, p) for g, p in zip(gold, predicted) if g == label]
    return 100.0 * sum(p in accepted for _, p in pairs) / len(pairs) if pairs else 0.0


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# ---------------------------------------------------------------- evaluations

def evaluate_public(dataset: str, pipeline: str, config: Path, train_set: List[Example], test_set: List[Example],
                    work: Path, suffix: str, command: str) -> List[Dict]:
    data = work / f"{dataset}-{pipeline}.yml"
    write_nlu_yaml(train_set, data)
    model, seconds = train(config, data, work / f"{dataset}-{pipeline}")
    gold = [intent for _, intent in test_set]
    raw: List[str] = []
    parses: List[Dict] = []
    predicted, latencies = parse_all(model, [text for text, _ in test_set], raw, parses)
    dump(work, f"{dataset}-{pipeline}{suffix}", test_set, parses)
    name = f"{dataset}, {pipeline} pipeline"
    # The same model scored as a classifier only: its best guess even where the fallback said
    # "unsure" (how much of the accuracy the fallback's threshold costs, see docs/nlu.md).
    rows = [row(f"{name}: accuracy without the fallback{suffix}", round(accuracy(gold, raw), 2), "%", command)]
    if dataset == "CLINC150":
        predicted = ["oos" if p == UNSURE else p for p in predicted]
        in_gold = [(g, p) for g, p in zip(gold, predicted) if g != "oos"]
        rows += [
            row(f"{name}: in-scope accuracy{suffix}", round(accuracy(*zip(*in_gold)), 2), "%", command),
            row(f"{name}: out-of-scope recall{suffix}", round(recall_of("oos", gold, predicted, ["oos"]), 2), "%", command),
        ]
    rows += [
        row(f"{name}: accuracy{suffix}", round(accuracy(gold, predicted), 2), "%", command),
        row(f"{name}: macro-F1{suffix}", round(macro_f1(gold, predicted), 2), "%", command),
        row(f"{name}: training time{suffix}", round(seconds, 1), "s", command),
        row(f"{name}: parse p50{suffix}", round(percentile(latencies, 50), 1), "ms", command),
        row(f"{name}: parse p95{suffix}", round(percentile(latencies, 95), 1), "ms", command),
    ]
    return rows


def evaluate_heldout(config: Path, label: str, work: Path, command: str, epochs: Optional[int],
                     model: Optional[Path] = None, sets: Sequence[Tuple[str, Path]] = HELDOUT_SETS) -> List[Dict]:
    """The bot's own model (data/, domain.yml) on the held-out set, per script; `model`: one
    already trained from them (the bot's, `make train`), instead of training one here."""
    suffix = f" [{epochs} epochs]" if epochs else ""
    rows = []
    if model is None:
        model, seconds = train(config_with_epochs(config, epochs, work / f"heldout-{label}.yml"), PROJECT_ROOT / "data",
                               work / f"heldout-{label}", PROJECT_ROOT / "domain.yml")
        rows.append(row(f"held-out set, {label} pipeline: NLU training time{suffix}", round(seconds, 1), "s", command))
    model = str(model)
    for set_name, path in [(name, path) for name, folder in sets for path in sorted(folder.glob("*.yml"))]:
        script = path.stem
        examples = load_nlu_yaml(path)
        gold = [intent for _, intent in examples]
        parses: List[Dict] = []
        predicted, latencies = parse_all(model, [text for text, _ in examples], None, parses)
        dump(work, f"{set_name} {script}-{label}{suffix}", examples, parses)
        rows += [
            row(f"{set_name} {script}, {label} pipeline: intent accuracy{suffix}", round(accuracy(gold, predicted), 1), "%", command),
            row(f"{set_name} {script}, {label} pipeline: out-of-scope recall{suffix}",
                round(recall_of(OUT_OF_SCOPE, gold, predicted, [OUT_OF_SCOPE]), 1), "%", command),
            row(f"{set_name} {script}, {label} pipeline: parse p95{suffix}", round(percentile(latencies, 95), 1), "ms", command),
        ]
        misses = [(t, g, p) for (t, g), p in zip(examples, predicted) if g != p]
        for text, wanted, got in misses:
            if set_name == "held-out":  # the second set's misses stay unread while the data is worked on
                print(f"  miss [{script}] {text!r}: {wanted} -> {got}", file=sys.stderr)
    return rows


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit-per-class", type=int, help="training examples per intent (public sets)")
    parser.add_argument("--test-limit-per-class", type=int, help="test examples per intent (public sets)")
    parser.add_argument("--max-classes", type=int, help="only the first N intents of each public set (smoke runs)")
    parser.add_argument("--epochs", type=int, help="override every classifier's epochs (public sets)")
    parser.add_argument("--heldout-epochs", type=int, help="override epochs for the held-out run (default: config's)")
    parser.add_argument("--datasets", nargs="*", default=["BANKING77", "CLINC150"], choices=["BANKING77", "CLINC150"])
    parser.add_argument("--pipelines", nargs="*", default=["ours", "stock"], choices=["ours", "stock"])
    parser.add_argument("--skip-heldout", action="store_true")
    parser.add_argument("--skip-heldout-v2", action="store_true",
                        help="score only the first held-out set (the second is the test set: its misses are never printed)")
    parser.add_argument("--heldout-model", type=Path,
                        help="score the held-out set with this model (the bot's, trained from config.yml and data/)")
    parser.add_argument("--config", type=Path, default=OUR_CONFIG, help="our pipeline's config")
    parser.add_argument("--label", default="ours", help="name of --config's pipeline in the rows")
    parser.add_argument("--json", type=Path, help="write here instead of docs/benchmarks.json")
    parser.add_argument("--markdown", type=Path, help="write here instead of docs/benchmarks.md")
    parser.add_argument("--full", action="store_true", help="the public sets whole, with the configs' own epochs")
    parser.add_argument("--dump", type=Path, help="write every parse here as JSON lines (one file per model and test set)")
    args = parser.parse_args(argv)
    global DUMP_DIR
    DUMP_DIR = args.dump
    sizes = ("limit_per_class", "test_limit_per_class", "max_classes", "epochs")
    if args.full and any(getattr(args, name) for name in sizes):
        parser.error("--full runs the public sets whole: leave out the size options")
    if not args.full and not any(getattr(args, name) for name in sizes):
        for name, value in SMALL.items():
            setattr(args, name, value)
    # Every model trained from scratch: Rasa's training cache would make training times meaningless.
    os.environ["RASA_MAX_CACHE_SIZE"] = "0"
    command = "python -m bench.eval_nlu " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)  # no debug line per parse

    rows: List[Dict] = []
    with tempfile.TemporaryDirectory(prefix="eval-nlu-") as tmp:
        work = Path(tmp)
        if not args.skip_heldout:
            sets = HELDOUT_SETS[:1] if args.skip_heldout_v2 else HELDOUT_SETS
            rows += evaluate_heldout(args.config, args.label, work, command, args.heldout_epochs, args.heldout_model, sets)
        setting = [f"{args.limit_per_class}/class" if args.limit_per_class else "",
                   f"test {args.test_limit_per_class}/class" if args.test_limit_per_class else "",
                   f"{args.max_classes} classes" if args.max_classes else "",
                   f"{args.epochs} epochs" if args.epochs else ""]
        suffix = f" [{', '.join(s for s in setting if s)}]" if any(setting) else ""
        loaders = {"BANKING77": load_banking77, "CLINC150": load_clinc150}
        configs = {"ours": args.config, "stock": stock_config_path()}
        for dataset in args.datasets:
            full_train, full_test = loaders[dataset]()
            train_set = subset(full_train, args.limit_per_class, args.max_classes)
            test_set = subset(full_test, args.test_limit_per_class, args.max_classes)
            for pipeline in args.pipelines:
                label = args.label if pipeline == "ours" else pipeline
                config = config_with_epochs(configs[pipeline], args.epochs, work / f"{dataset}-{pipeline}-config.yml")
                rows += evaluate_public(dataset, label, config, train_set, test_set, work, suffix, command)
    json_path = args.json or report.JSON
    report.update_json(rows, json_path)
    # The section shows every NLU row kept (runs of other sizes and pipelines too), not only this run's.
    kept = [r for r in json.loads(json_path.read_text(encoding="utf-8")) if r.get("command", "").startswith("python -m bench.eval_nlu")]
    table = ["## NLU evaluations (`make eval-nlu`)", "", "| figure | value | unit | command | date |", "|---|---|---|---|---|"]
    table += [f"| {r['name']} | {r['value']} | {r['unit']} | `{r['command']}` | {r['date']} |" for r in kept]
    report.write_section("nlu-eval", "\n".join(table + [""] + list(NOTES)), *([args.markdown] if args.markdown else []))
    for r in rows:
        print(f"{r['name']}: {r['value']} {r['unit']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
