"""`make image-test`: build the container image and run it as an orchestrator would.

Not part of `make test`: it installs system packages (podman, runc, debootstrap), builds a
Debian root filesystem and the image (minutes), and needs root. Steps, each timed:

1. a local base image, `localhost/debian-python:bookworm`, from `debootstrap` (no registry
   is reachable here; the Dockerfile's default base is the official slim Python image);
2. the image, from the repository's Dockerfile on that base;
3. a webhook container against SecantusDB on the host: ready, an update posted with the
   secret handled (the reply reaches a local Bot API, the user is stored), then SIGTERM
   and exit code 0;
4. the image's user is not root, it holds no test tooling, and without MONGO_URI it says
   so in one line and exits 2.

Podman here needs `--runtime runc --cgroup-manager=cgroupfs`, host networking and explicit
ulimits (crun fails on resource limits and hybrid cgroups in this sandbox).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from pymongo import MongoClient

from bench.local_bot_api import LocalBotApi
from bench.webhook_delivery import SECRET_HEADER, text_update
from infrastructure.embedded_mongo import EmbeddedMongo, free_loopback_port

ROOT = Path(__file__).resolve().parents[2]
BASE = "localhost/debian-python:bookworm"
IMAGE = "localhost/profilebot:image-test"
PACKAGES = ("podman", "runc", "debootstrap")
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
PODMAN = ["podman", "--runtime", "runc", "--cgroup-manager=cgroupfs"]
LIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
ONE_SHOT = ["run", "--rm", "--network", "host", "--no-healthcheck", *LIMITS]
"""A short run of the image: no HEALTHCHECK timer (podman would ask systemd for one)."""
TOKEN = "4242:image-test-token"
SECRET = "image-test-webhook-secret"
USER_ID = 777
TEST_TOOLS = ("pytest", "ruff", "mypy", "hypothesis", "lint-imports", "secantusd-py", "pip")

T = TypeVar("T")
timings: list[tuple[str, float]] = []


def step(name: str, action: Callable[[], T]) -> T:
    print(f"\n== {name}", flush=True)
    started = time.monotonic()
    result = action()
    seconds = time.monotonic() - started
    timings.append((name, seconds))
    print(f"   done in {seconds:.1f} s", flush=True)
    return result


Run = subprocess.CompletedProcess[str]


def require(condition: bool, failure: object) -> None:
    """A check that fails the whole run with `failure` (not `assert`: `-O` drops those)."""
    if not condition:
        raise SystemExit(f"image-test FAILED: {failure}")


def sh(*command: str, check: bool = True, capture: bool = False) -> Run:
    return subprocess.run(
        command, check=check, text=True, capture_output=capture, stdin=subprocess.DEVNULL
    )


def podman(*args: str, check: bool = True, capture: bool = True) -> Run:
    return sh(*PODMAN, *args, check=check, capture=capture)


def install_packages() -> None:
    missing = [p for p in PACKAGES if shutil.which(p) is None]
    if not missing:
        print("   already installed:", ", ".join(PACKAGES))
        return
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
        check=True,
        env=env,
    )


def build_base() -> None:
    if podman("image", "exists", BASE, check=False).returncode == 0:
        print(f"   {BASE} exists; reused")
        return
    with tempfile.TemporaryDirectory() as rootfs:
        sh(
            "debootstrap",
            "--variant=minbase",
            "--include=python3,python3-venv,ca-certificates",
            "bookworm",
            rootfs,
        )
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run([*PODMAN, "import", "-", BASE], stdin=tar.stdout, check=False)
        assert tar.stdout is not None  # for mypy: stdout=PIPE above
        tar.stdout.close()
        if tar.wait() != 0 or imported.returncode != 0:
            raise SystemExit("importing the debootstrap root filesystem failed")


def build_image() -> None:
    podman(
        "build",
        "--format", "docker",  # keeps HEALTHCHECK, which the OCI format drops
        "--network", "host",
        *LIMITS,
        "--volume", f"{CA_BUNDLE}:{CA_BUNDLE}:ro",
        "--build-arg", f"BASE_IMAGE={BASE}",
        "--build-arg", f"PIP_CERT={CA_BUNDLE}",
        "--tag", IMAGE,
        str(ROOT),
        capture=False,
    )  # fmt: skip
    size = int(podman("image", "inspect", "--format", "{{.Size}}", IMAGE).stdout.strip())
    print(f"   image size: {size / 1e6:.0f} MB")


@contextmanager
def container(name: str, env: dict[str, str], *command: str) -> Iterator[str]:
    settings = [arg for key, value in env.items() for arg in ("--env", f"{key}={value}")]
    podman(
        "run", "--detach", "--name", name, "--network", "host", *LIMITS, *settings, IMAGE,
        *command,
    )  # fmt: skip
    try:
        yield name
    finally:
        podman("rm", "--force", "--time", "1", name, check=False)


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def post_update(url: str, update: dict[str, Any]) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(update).encode(),
        headers={"Content-Type": "application/json", SECRET_HEADER: SECRET},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(response.status)


def wait_until(condition: Callable[[], bool], seconds: float, what: str, name: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            logs = podman("logs", name, check=False)
            raise SystemExit(f"{what} did not happen in {seconds:g} s\n{logs.stdout}{logs.stderr}")
        time.sleep(0.5)


def run_webhook(mongo: EmbeddedMongo, bot_api: LocalBotApi) -> None:
    port = free_loopback_port()
    env = {
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": bot_api.url,
        "MONGO_URI": mongo.uri,
        "MONGO_DB": "image_test",
        "WEBHOOK_HOST": "127.0.0.1",
        "WEBHOOK_PORT": str(port),
        "WEBHOOK_SECRET": SECRET,
    }
    base = f"http://127.0.0.1:{port}"
    with container("profilebot-image-test", env, "webhook") as name:
        wait_until(lambda: get(f"{base}/health/ready") == 200, 120, "ready", name)
        print("   /health/ready: 200")
        health = podman("healthcheck", "run", name, check=False)
        require(health.returncode == 0, f"HEALTHCHECK failed: {health.stdout}{health.stderr}")
        print("   the image's HEALTHCHECK passes")
        for update_id, text in ((1, "/start"), (2, "Image Tester")):
            status = post_update(f"{base}/telegram/webhook", text_update(update_id, USER_ID, text))
            require(status == 200, status)
        require(bot_api.replies[-1].startswith("Nice to meet you, Image Tester"), bot_api.replies)
        client: MongoClient[dict[str, Any]] = MongoClient(mongo.uri)
        try:
            stored = client["image_test"]["users"].find_one({"telegram_id": USER_ID})
        finally:
            client.close()
        require(stored is not None and stored["name"] == "Image Tester", stored)
        print("   an update posted with the secret was handled; the user is stored")
        started = time.monotonic()
        podman("stop", "--time", "30", name)  # SIGTERM, then SIGKILL only after 30 s
        code = podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
        require(code == "0", f"exit code {code} after SIGTERM")
        print(f"   SIGTERM: exit code 0 after {time.monotonic() - started:.1f} s")
        logs = podman("logs", name)
        output = logs.stdout + logs.stderr
        require("Traceback" not in output, output)
        require(TOKEN.split(":")[1] not in output, "the bot token was logged")
        require(SECRET not in output, "the webhook secret was logged")


def check_contents() -> None:
    user = podman(*ONE_SHOT, "--entrypoint", "id", IMAGE, "-u")
    require(user.stdout.strip() != "0", "the image runs as root")
    print(f"   runs as uid {user.stdout.strip()}")
    listing = podman(
        *ONE_SHOT, "--entrypoint", "ls", IMAGE, "/opt/profilebot/bin",
    ).stdout.split()  # fmt: skip
    found = [tool for tool in TEST_TOOLS if tool in listing]
    require(not found, f"test or build tooling in the image: {found}")
    probe = (
        "import importlib.util as u;"
        " print([m for m in ('pytest', 'hypothesis', 'mypy') if u.find_spec(m)])"
    )
    modules = podman(
        *ONE_SHOT, "--entrypoint", "python3", IMAGE, "-c", probe
    ).stdout.strip()  # fmt: skip
    require(modules == "[]", modules)
    print("   no test tooling:", ", ".join(TEST_TOOLS), "absent")
    missing = podman(
        *ONE_SHOT, "--env", f"BOT_TOKEN={TOKEN}", "--env", f"WEBHOOK_SECRET={SECRET}", IMAGE,
        check=False,
    )  # fmt: skip
    lines = missing.stderr.strip().splitlines()
    require(missing.returncode == 2, (missing.returncode, missing.stderr))
    require(len(lines) == 1 and "MONGO_URI is not set" in lines[0], missing.stderr)
    print(f"   without MONGO_URI: exit 2, {lines[0]!r}")


def main() -> int:
    if os.geteuid() != 0:
        print("make image-test needs root (apt-get, debootstrap, podman)", file=sys.stderr)
        return 2
    started = time.monotonic()
    step("install podman, runc and debootstrap", install_packages)
    step(f"base image {BASE} (debootstrap bookworm minbase)", build_base)
    step(f"image {IMAGE}", build_image)
    mongo = EmbeddedMongo(data_dir=None)
    mongo.start(timeout_seconds=60)
    try:
        with LocalBotApi(TOKEN) as bot_api:
            step(
                "webhook container: ready, an update handled, SIGTERM",
                lambda: run_webhook(mongo, bot_api),
            )
    finally:
        mongo.stop()
    step("image contents: user, tooling, MONGO_URI required", check_contents)
    print("\nimage-test passed")
    for name, seconds in timings:
        print(f"  {seconds:7.1f} s  {name}")
    print(f"  {time.monotonic() - started:7.1f} s  in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
