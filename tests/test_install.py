"""`make install` finds Python 3.10, or says in one sentence how to get it."""
import os
import subprocess

from bot.settings import PROJECT_ROOT

FIND = str(PROJECT_ROOT / "scripts" / "find-python310.sh")


def test_finds_a_python_310():
    result = subprocess.run(["bash", FIND], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    found = result.stdout.strip()
    version = subprocess.run([found, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True)
    assert version.stdout.strip() == "(3, 10)"


def test_no_python_310_is_one_clear_sentence(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {"PATH": str(empty), "PYENV_ROOT": str(tmp_path / "no-pyenv"), "HOME": str(tmp_path)}
    result = subprocess.run(["/bin/bash", FIND], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Python 3.10 was not found.") and "pyenv install 3.10" in lines[0]


def test_a_second_install_is_a_no_op():
    result = subprocess.run(["make", "-s", "install"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "MAKEFLAGS": ""})
    assert result.returncode == 0
    assert result.stdout.strip() == "" and "Installing" not in result.stderr
