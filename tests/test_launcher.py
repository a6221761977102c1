"""The launcher behind `make run`: secrets, the training cache key, clear start-up errors."""
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys

import pytest

from bot import launcher
from bot.settings import PROJECT_ROOT, Settings


def test_secrets_are_created_once_private_and_reused(tmp_path):
    first = launcher.load_or_create_secrets(tmp_path, {})
    assert set(first) == set(launcher.SECRET_NAMES) and all(len(v) >= 16 for v in first.values())
    assert stat.S_IMODE((tmp_path / "secrets.env").stat().st_mode) == 0o600
    assert launcher.load_or_create_secrets(tmp_path, {}) == first
    # The environment wins over the file.
    assert launcher.load_or_create_secrets(tmp_path, {"RASA_TOKEN": "from-env"})["RASA_TOKEN"] == "from-env"
    # A file that became readable by others (copied, restored) is made private again.
    (tmp_path / "secrets.env").chmod(0o644)
    launcher.load_or_create_secrets(tmp_path, {})
    assert stat.S_IMODE((tmp_path / "secrets.env").stat().st_mode) == 0o600


def test_demo_pages_are_off_unless_asked_for_and_then_get_a_customer_token_key(tmp_path):
    assert not Settings.from_env({}).demo_pages and Settings.from_env({"DEMO_PAGES": "on"}).demo_pages
    assert "CUSTOMER_JWT_SECRET" not in launcher.load_or_create_secrets(tmp_path, {})
    names = launcher.SECRET_NAMES + ("CUSTOMER_JWT_SECRET",)  # what `run` asks for with DEMO_PAGES=on
    demo = launcher.load_or_create_secrets(tmp_path, {}, names)
    assert len(demo["CUSTOMER_JWT_SECRET"]) >= 32 and launcher.load_or_create_secrets(tmp_path, {}, names) == demo
    assert launcher.load_or_create_secrets(tmp_path, {"CUSTOMER_JWT_SECRET": "host"}, names)["CUSTOMER_JWT_SECRET"] == "host"


@pytest.mark.parametrize(
    "env, complaint",
    [
        ({"RASA_PORT": "70000"}, "RASA_PORT must be a port number from 1 to 65535, got 70000"),
        ({"WEB_PORT": "eighty"}, "WEB_PORT must be a whole number, got 'eighty'"),
        ({"WEB_PORT": "5005"}, "RASA_PORT, ACTIONS_PORT and WEB_PORT must differ"),
        ({"EVENT_POLL_INTERVAL": "fast"}, "EVENT_POLL_INTERVAL must be a number of seconds"),
    ],
)
def test_bad_settings_are_one_clear_sentence(env, complaint):
    from bot.settings import ConfigurationError

    with pytest.raises(ConfigurationError) as e:
        Settings.from_env(env)
    assert str(e.value).startswith(complaint)


def test_listening_everywhere_still_gives_browsers_a_usable_address():
    settings = Settings.from_env({"BIND_HOST": "0.0.0.0"})
    assert settings.public_web_url == "http://localhost:8000" and settings.public_rasa_url == "http://localhost:5005"
    # The chat page may be opened under either loopback name.
    assert "http://127.0.0.1:8000" in settings.chat_origins and "http://localhost:8000" in settings.chat_origins


def test_training_hash_changes_only_with_training_inputs(tmp_path):
    for entry in launcher.TRAINING_INPUTS:
        src = PROJECT_ROOT / entry
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / entry)
    (tmp_path / "README.md").write_text("docs do not matter")
    before = launcher.training_hash(tmp_path)
    (tmp_path / "README.md").write_text("still do not matter")
    assert launcher.training_hash(tmp_path) == before
    with open(tmp_path / "data" / "nlu.yml", "a", encoding="utf-8") as f:
        f.write("\n")
    assert launcher.training_hash(tmp_path) != before


def test_port_in_use_is_one_clear_sentence(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        from tests.integration.stack import free_port

        settings = Settings.from_env({"VAR_DIR": str(tmp_path), "WEB_PORT": str(port),
                                      "RASA_PORT": str(free_port()), "ACTIONS_PORT": str(free_port())})
        with pytest.raises(launcher.LaunchError) as error:
            launcher.check_ports_free(settings)
    assert str(error.value) == (
        f"Port {port} for the web service is already in use (another `make run`?). "
        "Stop that program or choose another port with WEB_PORT=…"
    )


def _start_launcher(tmp_path):
    """`python -m bot.launcher run` on free ports; returns once it printed the URLs."""
    from tests.integration.stack import free_port

    ports = {"RASA_PORT": free_port(), "ACTIONS_PORT": free_port(), "WEB_PORT": free_port()}
    env = {**os.environ, "VAR_DIR": str(tmp_path), **{k: str(v) for k, v in ports.items()}}
    proc = subprocess.Popen([sys.executable, "-m", "bot.launcher", "run"], cwd=PROJECT_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    for line in proc.stdout:  # read until the launcher says where to go
        output.append(line)
        if "Press Ctrl-C" in line or proc.poll() is not None:
            break
    return proc, ports, "".join(output)


@pytest.mark.integration
def test_make_run_starts_everything_and_ctrl_c_stops_it(tmp_path):
    proc, ports, text = _start_launcher(tmp_path)
    try:
        assert f"Customer chat:  http://127.0.0.1:{ports['WEB_PORT']}/" in text
        assert f"Agent console:  http://127.0.0.1:{ports['WEB_PORT']}/agent/" in text
        # No secret can be read off the process list (`ps`): they travel in the environment.
        secrets = dict(line.split("=", 1) for line in (tmp_path / "secrets.env").read_text().splitlines()
                       if "=" in line and not line.startswith("#"))
        assert _pids_whose_command_line_contains(secrets["RASA_TOKEN"]) == []
        assert _pids_whose_command_line_contains(secrets["SERVICE_TOKEN"]) == []
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, rest[-2000:]
    assert "Traceback" not in rest
    for port in ports.values():  # everything is gone: the ports are free again
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))


@pytest.mark.parametrize(
    "url, message",
    [
        ("postgresql://nobody:secret@127.0.0.1:1/none", "Cannot use the database postgresql://nobody:***@127.0.0.1:1/none"),
        ("postgres://nobody:secret@127.0.0.1:1/none", "DATABASE_URL names a database this service cannot use"),
        ("nobody:secret at the usual place", "DATABASE_URL is not a database URL"),
    ],
)
def test_unusable_database_is_one_clear_sentence(tmp_path, url, message):
    env = {**os.environ, "VAR_DIR": str(tmp_path), "DATABASE_URL": url}
    result = subprocess.run([sys.executable, "-m", "bot.launcher", "prepare"], cwd=PROJECT_ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith(f"[launcher] {message}")
    assert "secret" not in result.stdout + result.stderr


def _pids_whose_command_line_contains(text: str) -> list:
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            if text.encode() in open(f"/proc/{entry}/cmdline", "rb").read():
                found.append(int(entry))
        except OSError:
            continue
    return found


def _child_pid(module: str, port: int) -> int:
    """The pid of the stack's process running `module` with this port in its environment."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = open(f"/proc/{entry}/cmdline", "rb").read().split(b"\0")
            environ = open(f"/proc/{entry}/environ", "rb").read().split(b"\0")
        except OSError:
            continue
        if module.encode() in cmdline and f"WEB_PORT={port}".encode() in environ:
            return int(entry)
    raise LookupError(module)


@pytest.mark.integration
def test_a_dead_process_stops_the_stack_with_one_message(tmp_path):
    proc, ports, _ = _start_launcher(tmp_path)
    try:
        os.kill(_child_pid("handoff_service", ports["WEB_PORT"]), signal.SIGKILL)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1
    assert rest.strip().splitlines()[-1] == (
        "[launcher] The web process stopped unexpectedly, so everything was stopped. Its last lines above say why."
    )


@pytest.mark.parametrize("status, body, healthy", [
    (200, b'{"status": "ok"}', True),
    (503, b'{"status": "degraded", "reasons": ["event stream 40 s behind"]}', True),  # up, and says what is wrong
    (503, b"Service Unavailable", False),
    (500, b'{"status": "degraded"}', False),
])
def test_a_degraded_web_service_counts_as_started(status, body, healthy):
    import http.server
    import threading

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(status)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert launcher.is_healthy(f"http://127.0.0.1:{server.server_port}/healthz") is healthy
    finally:
        server.shutdown()
        server.server_close()
