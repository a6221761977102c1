"""`make eval`'s NLU evaluation, as a smoke version on a tiny subset (the real run is
`make eval-nlu`, outside the test suite), and how its rows are kept."""
import json

import pytest

from bench import eval_nlu

needs_eval_data = pytest.mark.skipif(not (eval_nlu.EVAL_DATA / "clinc150").is_dir(), reason="no ../shared/eval-data")


def test_subset_keeps_out_of_scope_and_limits_each_intent():
    examples = [(f"{i} {n}", f"intent{i}") for i in range(5) for n in range(4)] + [("x", "oos"), ("y", "oos")]
    chosen = eval_nlu.subset(examples, per_class=2, max_classes=2)
    assert sorted({intent for _, intent in chosen}) == ["intent0", "intent1", "oos"]
    assert len(chosen) == 6


@needs_eval_data
def test_smoke_public_benchmark_trains_tests_and_writes_rows(tmp_path):
    json_path, markdown_path = tmp_path / "b.json", tmp_path / "b.md"
    eval_nlu.main([
        "--skip-heldout", "--datasets", "CLINC150", "--pipelines", "ours",
        "--limit-per-class", "8", "--test-limit-per-class", "3", "--max-classes", "3", "--epochs", "30",
        "--json", str(json_path), "--markdown", str(markdown_path),
    ])
    rows = {r["name"]: r for r in json.loads(json_path.read_text(encoding="utf-8"))}
    suffix = " [8/class, test 3/class, 3 classes, 30 epochs]"
    accuracy = rows[f"CLINC150, ours pipeline: in-scope accuracy{suffix}"]["value"]
    assert accuracy > 100 / 4  # better than guessing among 3 intents and oos
    assert 0 <= rows[f"CLINC150, ours pipeline: out-of-scope recall{suffix}"]["value"] <= 100
    assert rows[f"CLINC150, ours pipeline: parse p95{suffix}"]["unit"] == "ms"
    assert "CLINC150 (Larson et al." in markdown_path.read_text(encoding="utf-8")


# --- understanding and conversation (#8) ---

def test_a_model_is_also_scored_on_its_own_guess_before_the_fallback():
    unsure = {"intent": {"name": "nlu_fallback", "confidence": 0.7},
              "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.7}, {"name": "card_arrival", "confidence": 0.3}]}
    assert eval_nlu.top_understood(unsure) == "card_arrival"
    assert eval_nlu.top_understood({"intent": {"name": "greet"}, "intent_ranking": []}) == "greet"


def test_full_size_cannot_be_mixed_with_a_small_version():
    with pytest.raises(SystemExit):
        eval_nlu.main(["--full", "--epochs", "5", "--skip-heldout", "--datasets"])


def test_a_dumped_parse_is_replayed_under_another_fallback_threshold():
    from bench.nlu_replay import decide, scores

    parse = {"gold": "card_arrival", "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.6},
                                                        {"name": "card_arrival", "confidence": 0.4},
                                                        {"name": "card_linking", "confidence": 0.3}]}
    assert decide(parse, 0.45, 0.05) == "nlu_fallback"  # below the threshold
    assert decide(parse, 0.3, 0.05) == "card_arrival"
    assert decide(parse, 0.3, 0.2) == "nlu_fallback"  # too close to the runner-up
    assert decide(parse, None, 0.0) == "card_arrival"
    assert scores([parse], 0.3, 0.05) == "accuracy 100.0"
