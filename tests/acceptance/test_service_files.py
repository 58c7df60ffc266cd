"""The service files: the systemd unit passes `systemd-analyze verify` and says what the README
promises; the container image is built where a Docker daemon or podman runs, and otherwise its
install steps (read from the Dockerfile itself) run in a fresh venv as a user without
privileges, whose `postbot run` then passes the image's own HEALTHCHECK command.

What the fallback proves: the wheels the image installs are complete (postbot starts from them
alone, `--no-index`), and postbot runs and answers /healthz as a non-root user with only its
data folder writable. What it does not: the base image, `useradd` and the volumes.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from postbot.config import DaemonSettings
from tests.support import DRY_CONFIG, REPO

UNIT = REPO / "config" / "postbot.service"
DOCKERFILE = REPO / "Dockerfile"


def _require(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        reason = f"{tool} is not installed here"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set: this test must run)")
        pytest.skip(reason)
    return found


def unit_settings() -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", "[")):
            key, _, value = line.partition("=")
            values.setdefault(key.strip(), []).append(value.strip())
    return values


# -- systemd ------------------------------------------------------------------------------------
def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    tool = _require("systemd-analyze")
    # The unit names /srv/postbot; verify checks that ExecStart exists, so lay it out here.
    home = tmp_path / "srv-postbot"
    (home / ".venv" / "bin").mkdir(parents=True)
    (home / "var").mkdir()
    (home / ".venv" / "bin" / "postbot").symlink_to(Path(sys.executable).parent / "postbot")
    unit = tmp_path / "postbot.service"
    unit.write_text(UNIT.read_text().replace("/srv/postbot", str(home)))
    done = subprocess.run([tool, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == done.stderr.strip() == ""  # no warning (an unknown key...)


def test_the_systemd_unit_says_what_the_readme_promises() -> None:
    unit = unit_settings()
    assert unit["Restart"] == ["on-failure"]
    assert unit["KillSignal"] == ["SIGTERM"]
    stop = unit["TimeoutStopSec"][0]
    assert stop.endswith("s") and float(stop[:-1]) > DaemonSettings.shutdown_grace
    assert unit["EnvironmentFile"] == ["-/srv/postbot/.env"]
    assert unit["WorkingDirectory"] == ["/srv/postbot"]
    assert unit["ExecStart"][0].startswith("/srv/postbot/.venv/bin/postbot run")
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
        "ReadWritePaths": "/srv/postbot/var",
    }.items():
        assert unit[key] == [value], key
    assert unit["User"] == ["postbot"]


# -- the container image --------------------------------------------------------------------------
def dockerfile_steps() -> dict[str, str]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    steps = {}
    for line in text.splitlines():
        if line.startswith("RUN pip wheel"):
            steps["wheel"] = line.removeprefix("RUN ").strip()
        elif line.startswith("RUN pip install"):
            steps["install"] = line.removeprefix("RUN ").split("&&")[0].strip()
        elif line.startswith("HEALTHCHECK"):
            steps["healthcheck"] = line.split("CMD", 1)[1].strip()
        elif line.startswith(("USER", "VOLUME", "ENV")):
            steps.setdefault(line.split()[0].lower(), "")
            steps[line.split()[0].lower()] += " " + line.split(None, 1)[1]
    return steps


def test_the_dockerfile_runs_as_a_user_with_volumes_and_a_healthcheck() -> None:
    steps = dockerfile_steps()
    assert steps["user"].strip() not in ("", "root", "0")
    assert json.loads(steps["volume"]) == ["/app/var", "/app/posts"]
    assert "/healthz" in steps["healthcheck"]
    assert "POSTBOT_METRICS=0.0.0.0:9750" in steps["env"]
    assert "--no-index" in steps["install"] and "--find-links /wheels" in steps["install"]
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    services = compose["services"]
    workers = [name for name in services if name.startswith("worker")]
    assert len(workers) == 2 and "postgres" in services
    for name in workers:
        url = services[name]["environment"]["POSTBOT_DATABASE_URL"]
        assert url.startswith("postgresql+psycopg://") and "@postgres:5432/" in url
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    ignored = (REPO / ".dockerignore").read_text()
    assert ".env" not in [line.strip() for line in ignored.splitlines() if line.startswith("!")]


def _engine() -> list[str] | None:
    for tool in ("docker", "podman"):
        path = shutil.which(tool)
        if path and subprocess.run([path, "info"], capture_output=True, timeout=30).returncode == 0:
            return [path]
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def unprivileged_home() -> Iterator[Path]:
    """A folder the user `nobody` owns (pytest's tmp_path is root's own, 0700)."""
    home = Path(tempfile.mkdtemp(prefix="postbot-image-"))
    os.chmod(home, 0o755)
    try:
        yield home
    finally:
        shutil.rmtree(home, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_image_builds_and_becomes_healthy_or_its_steps_do_as_a_user(
    unprivileged_home: Path,
) -> None:
    engine = _engine()
    if engine is not None:  # the real thing
        tag = "postbot-test:latest"
        built = subprocess.run(
            [*engine, "build", "-t", tag, str(REPO)], capture_output=True, text=True, timeout=900
        )
        assert built.returncode == 0, built.stderr[-3000:]
        return
    if os.geteuid() != 0:
        pytest.skip("no Docker daemon or podman, and not root: cannot switch to another user")
    # An interpreter outside root's home (pyenv's lives in /root, 0700), 3.11 as the image's.
    python = next(
        (p for p in ("/usr/local/bin/python3.11", "/usr/bin/python3.11") if os.path.exists(p)), None
    )
    if python is None:
        reason = "no Python 3.11 outside root's home for the user nobody to run"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set: this test must run)")
        pytest.skip(reason)
    steps = dockerfile_steps()
    wheels = unprivileged_home / "wheels"
    # The build stage, as the Dockerfile says it (pip's own cache speeds it up here).
    wheel = shlex.split(
        steps["wheel"].replace("--no-cache-dir ", "").replace("/wheels", str(wheels))
    )
    done = subprocess.run(
        [sys.executable, "-m", *wheel[:-1], str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    subprocess.run(["chown", "-R", "nobody", str(unprivileged_home)], check=True)

    def as_nobody(*cmd: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        path = f"{unprivileged_home / 'venv' / 'bin'}:/usr/bin:/bin"
        full = {"PATH": path, "HOME": str(unprivileged_home), "LANG": "C.UTF-8", **(env or {})}
        return subprocess.run(
            ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *cmd],
            capture_output=True,
            text=True,
            env=full,
            timeout=300,
            cwd=unprivileged_home,
        )

    made = as_nobody(python, "-m", "venv", str(unprivileged_home / "venv"))
    assert made.returncode == 0, made.stderr
    install = shlex.split(steps["install"].replace("/wheels", str(wheels)))
    assert install[0] == "pip"
    installed = as_nobody(str(unprivileged_home / "venv" / "bin" / "python"), "-m", *install)
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-3000:]
    # A project as the image lays it out: config read-only to the user, var/ its own.
    app = unprivileged_home / "app"
    (app / "config").mkdir(parents=True)
    (app / "posts").mkdir()
    (app / "var").mkdir()
    (app / "config" / "postbot.toml").write_text(DRY_CONFIG)
    subprocess.run(["chown", "-R", "nobody", str(app / "var")], check=True)
    port = _free_port()
    env = {
        "POSTBOT_CONFIG": str(app / "config" / "postbot.toml"),
        "POSTBOT_METRICS": f"127.0.0.1:{port}",
    }
    version = as_nobody("postbot", "--version", env=env)
    assert version.returncode == 0 and "version" in version.stdout, version.stderr
    daemon = subprocess.Popen(
        [
            "setpriv",
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            str(unprivileged_home / "venv" / "bin" / "postbot"),
            "run",
            "--dry-run",
            "--log-format",
            "json",
        ],
        env={"PATH": "/usr/bin:/bin", **env},
        cwd=app,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        check = json.loads(steps["healthcheck"])
        assert check[0] == "python"
        probe = [
            str(unprivileged_home / "venv" / "bin" / "python"),
            *[c.replace("9750", str(port)) for c in check[1:]],
        ]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and daemon.poll() is None:
            healthy = as_nobody(*probe)
            if healthy.returncode == 0:
                break
            time.sleep(0.5)
        if daemon.poll() is not None:
            pytest.fail(f"the daemon stopped: {daemon.communicate()[0][-3000:]}")
        assert healthy.returncode == 0, healthy.stderr[-2000:]
        owner = {p.stat().st_uid for p in (app / "var").iterdir()}
        assert owner == {65534}  # the database was made by the user, not by root
    finally:
        daemon.send_signal(signal.SIGTERM)
        out, _ = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, out[-3000:]
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert any("metrics, health and readiness" in entry["message"] for entry in lines)
    assert re.search(r"postbot stopped", out)
