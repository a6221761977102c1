"""Which fault-form answer a correction names, and the new value (actions/form_corrections.py)."""
import pytest

from actions.form_corrections import corrected_slot, corrected_value

FAULT = ("fault_what", "fault_where", "fault_since")


@pytest.mark.parametrize("text, requested, slot, value", [
    ("不对，地址是北京市朝阳区建国路88号", "fault_since", "fault_where", "北京市朝阳区建国路88号"),
    ("不對，地址應該是台北市信義路五段7號", "fault_since", "fault_where", "台北市信義路五段7號"),
    ("no wait, the address is 5 High Street, York", "fault_since", "fault_where", "5 High Street, York"),
    ("不对，是从前天开始的", None, "fault_since", "从前天开始的"),
    ("actually it has been since yesterday", None, "fault_since", "since yesterday"),
    ("我说错了，问题是手机没信号", "fault_since", "fault_what", "手机没信号"),
    # Naming no answer: the one given last (before the question now asked).
    ("sorry, I meant 12 Park Road", "fault_since", "fault_where", "12 Park Road"),
    ("说错了，是公司", "fault_where", "fault_what", "公司"),
])
def test_the_named_or_last_answer_takes_the_new_value(text, requested, slot, value):
    assert corrected_slot(text, FAULT, requested) == slot
    assert corrected_value(text, slot) == value


def test_a_correction_with_nothing_after_it_changes_nothing():
    assert corrected_value("不对", "fault_where") is None
    assert corrected_slot("不对", FAULT, "fault_what") is None  # nothing answered yet
