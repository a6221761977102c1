"""Two Rasa replicas behind one messaging webhook (channels #10): a callback the platform
repeats may reach the other replica, and so may the customer's "2" after one replica
offered numbered options. A second real Rasa server is started beside the stack's, with
the same configuration (the same app database holds the shared records)."""
import subprocess
import time

import pytest

from bot import launcher
from bot.settings import PROJECT_ROOT
from tests.integration.probes import tracker_events
from tests.integration.stack import free_port
from tests.integration.test_messaging_channels import TelegramUser, WeChatUser

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def second_replica(stack):
    """Another Rasa server on the same stores, model and channel credentials; its base URL."""
    port = free_port()
    settings = stack.settings.with_overrides(rasa_port=port)
    env = {**stack.env, "RASA_PORT": str(port)}
    command = launcher.process_commands(settings, stack.model)["rasa"]
    log = open(stack.log_dir / "rasa-replica-2.log", "w")
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    health = launcher.health_urls(settings, settings.rasa_token)["rasa"]
    deadline = time.monotonic() + 300
    try:
        while not launcher.is_healthy(health):
            assert process.poll() is None, f"the second replica exited:\n{stack.log_tail('rasa-replica-2')}"
            assert time.monotonic() < deadline, "the second replica did not become healthy"
            time.sleep(0.5)  # polling a health endpoint, not synchronising a test
        yield settings.rasa_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_a_wechat_callback_repeated_to_the_other_replica_is_answered_once_and_numbers_work_on_both(
        stack, second_replica):
    user = WeChatUser(stack)
    first_url, other_url = user.url, f"{second_replica}/webhooks/wechat/webhook"
    # Replica one offers the greeting's buttons as numbered options ...
    greeting = user.ask("你好")
    hours = next(line for line in greeting.splitlines() if "营业时间" in line)
    # ... and the customer's number reaches replica two, which knows what it means.
    user.url = other_url
    assert "8:00–22:00" in user.ask(hours.split(".")[0])
    # The platform got no answer in time from replica one and repeats the callback to replica two.
    user.url = first_url
    user.next_msg_id += 1
    repeated = user.next_msg_id
    assert user.ask("怎么开发票", msg_id=repeated)
    user.url = other_url
    again = user.callback(user.message_xml("text", "怎么开发票", msg_id=repeated))
    assert again.status_code == 200 and again.text == "success"
    assert user.ask("怎么交话费").startswith("您可以通过微信")  # replica two answers new messages as usual
    said = [e["text"] for e in tracker_events(stack, user.openid) if e["event"] == "user"]
    assert said.count("怎么开发票") == 1 and said.count("怎么交话费") == 1


def test_a_telegram_update_repeated_to_the_other_replica_is_handled_once(stack, second_replica):
    user = TelegramUser(stack)
    update = user.message(text="怎么开发票")
    assert user.post(update).status_code == 200
    assert user.new_messages()
    user.url = f"{second_replica}/webhooks/telegram/webhook"
    assert user.post(update, update_id=user.update_id).status_code == 200
    # Had replica two answered the repeat, that answer would come first here.
    assert user.ask("怎么交话费").startswith("您可以通过微信")
    said = [e["text"] for e in tracker_events(stack, user.conversation_id) if e["event"] == "user"]
    assert said == ["怎么开发票", "怎么交话费"]
