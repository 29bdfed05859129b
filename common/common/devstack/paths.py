"""Where the local stack finds the services and keeps its files."""

from __future__ import annotations

import os
from pathlib import Path

#: The repository root: common/common/devstack/ is three levels below it.
REPO_ROOT: Path = Path(__file__).resolve().parents[3]


def devstack_dir() -> Path:
    """The folder for the stack's data and state; ``DEVSTACK_DIR`` moves it (default: <repo>/.devstack)."""
    return Path(os.environ.get("DEVSTACK_DIR") or REPO_ROOT / ".devstack").resolve()


def log_dir() -> Path | None:
    """``DEVSTACK_LOG_DIR``: where ``run`` writes each process's output, a file each, instead of relaying it
    through honcho (and the APIs write no access log); None (the default): honcho relays it."""
    value = os.environ.get("DEVSTACK_LOG_DIR")
    return Path(value).resolve() if value else None


def env_file(service_name: str) -> Path:
    """The KEY=VALUE file through which other commands reach the running stack's service."""
    return devstack_dir() / "env" / f"{service_name}.env"


def run_lock_file() -> Path:
    """Held by a running ``run``; tells whether the stack is up and keeps a second one out."""
    return devstack_dir() / "run.lock"


def broker_started_at_file() -> Path:
    """When the last embedded (memory-only) broker started, so its lost events can be replayed."""
    return devstack_dir() / "broker_started_at"


def load_dotenv(path: Path = REPO_ROOT / ".env") -> None:
    """Put the variables of the repository's ``.env`` (see .env.example) into our environment.

    Only what the environment does not already set: an exported variable always wins. Lines
    are ``KEY=VALUE`` (optionally quoted); blank lines and ``#`` comments are skipped.
    """
    if not path.is_file():
        return
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        os.environ.setdefault(key.strip(), value)
