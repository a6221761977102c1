"""Smoke of `make eval-conversation`: the zh-Hans conversation tests (tests/stories/) pass on
the model the stack runs.  The three scripts, with rows, are `make eval-conversation`."""
import pytest

from bench import eval_conversation
from bot import launcher

pytestmark = pytest.mark.integration


def test_every_general_flow_passes_in_simplified_chinese(stack, tmp_path):
    model = launcher.model_path(stack.settings)
    names, failed = eval_conversation.run_stories(
        str(model), eval_conversation.STORIES / "test_conversation_zh-Hans.yml", tmp_path / "results")
    assert len(names) == 15
    assert failed == []
