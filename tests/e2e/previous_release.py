"""The previous release, installed from its commit into a virtual environment of its own, to
run beside the current code.

The release and its commit come from CHANGELOG.md (the first released section). Installing
takes about a minute, so the environment is kept in the temporary directory, keyed by the
commit and the Python version, and later runs reuse it. The source is checked out with
`git worktree` (only for the install: the package is installed, not linked, so the
worktree is removed at once) and installed with that release's own constraints, as its
Makefile does.
"""

import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
RELEASE = re.compile(
    r"^## \[(?P<version>\d+\.\d+\.\d+)\][^\n]*\n+Cut from commit (?P<commit>[0-9a-f]{40})\b",
    re.MULTILINE,
)


@dataclass(frozen=True, slots=True)
class Release:
    version: str
    commit: str

    def __str__(self) -> str:
        return f"{self.version} ({self.commit[:7]})"


class NotInHistory(Exception):
    """This clone cannot check the release out (no git, or a shallow clone without it)."""


def previous_release(changelog: Path = REPOSITORY / "CHANGELOG.md") -> Release:
    """The latest release CHANGELOG.md names, with the commit it was cut from."""
    found = RELEASE.search(changelog.read_text())
    if found is None:
        raise AssertionError(f"{changelog} names no release with the commit it was cut from")
    return Release(found["version"], found["commit"])


def install(release: Release) -> tuple[Path, float | None]:
    """The release's `profilebot` command, installed now or before; the seconds the install
    took (None: it was there already). Raises `NotInHistory` if the commit is not here."""
    _check_history(release)
    version = f"py{sys.version_info.major}{sys.version_info.minor}"
    home = Path(tempfile.gettempdir()) / f"profilebot-{release.version}-{release.commit}-{version}"
    command = home / "venv" / "bin" / "profilebot"
    installed = home / "installed"
    with (home.parent / f"{home.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test run may be installing it right now
        if installed.exists():
            return command, None
        started = time.monotonic()
        shutil.rmtree(home, ignore_errors=True)  # what an interrupted install left
        home.mkdir(parents=True)
        _install_into(home, release)
        installed.touch()
        return command, time.monotonic() - started


def _check_history(release: Release) -> None:
    try:
        found = subprocess.run(
            ["git", "-C", str(REPOSITORY), "cat-file", "-e", f"{release.commit}^{{commit}}"],
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        raise NotInHistory("git is not installed") from None
    if found.returncode != 0:
        raise NotInHistory(
            f"the previous release {release} is not in this clone's history (a shallow"
            " clone, or not a git clone); a full clone has it"
        )


def _install_into(home: Path, release: Release) -> None:
    source = home / "source"
    _run(["git", "-C", str(REPOSITORY), "worktree", "add", "--detach", str(source), release.commit])
    try:
        _run([sys.executable, "-m", "venv", str(home / "venv")])
        constraints = source / "constraints.txt"
        pip = [str(home / "venv" / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        pip += ["--disable-pip-version-check", "--constraint", str(constraints), str(source)]
        # The build environment is pinned too (Babel compiles the catalogues; setup.py).
        _run(pip, env_extra={"PIP_CONSTRAINT": str(constraints)})
    finally:
        remove = ["git", "-C", str(REPOSITORY), "worktree", "remove", "--force", str(source)]
        subprocess.run(remove, capture_output=True, check=False)


def _run(args: list[str], env_extra: dict[str, str] | None = None) -> None:
    env = os.environ | (env_extra or {})
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
