"""A private PostgreSQL server that a test may stop and start: initdb and pg_ctl in a temp dir.

Debian's server binaries (/usr/lib/postgresql/<version>/bin) refuse to run as root, so as root
(here and in CI) they run as the `postgres` user through `runuser`. The server listens on
127.0.0.1 at a free port with trust authentication and no fsync (it holds test data only).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.fakes.server import free_port

# No fsync: an immediate stop kills the server, not the machine, so what it wrote survives.
# Commits stay synchronous: with synchronous_commit=off a crash loses acknowledged commits.
SERVER_OPTIONS = "-c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"


def find_bindir() -> Path | None:
    """The newest installed server's bin directory, if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_version)
    return Path(found[-1]).parent if found else None


def _version(path: str) -> float:
    try:
        return float(Path(path).parents[1].name)
    except ValueError:
        return 0.0


class PrivateServer:
    def __init__(self, bindir: Path) -> None:
        self.bindir, self.port = bindir, free_port()
        self.home = Path(tempfile.mkdtemp(prefix="paht-pg-"))
        self.data, self.log = self.home / "data", self.home / "server.log"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.home, user.pw_uid, user.pw_gid)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.home} {SERVER_OPTIONS}"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop("immediate")
        shutil.rmtree(self.home, ignore_errors=True)

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bindir / program), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}):\n{done.stderr}{done.stdout}")
