"""Boards in a box: a Debian 12 VM under qemu-system-x86_64 with systemd as PID 1, sshd, udev and the kernel's
``vivid`` V4L2 camera, for what only a booted OS shows (service managers, reboots, kernel devices).

``scripts/install_vm.sh`` builds and caches the image (kernel, initrd, ext4 root, SSH keys); each VM boots a
copy-on-write overlay of it, so tests never change the cached image. TCG only (KVM guests hang on this kind of
machine). The host reaches the guest's sshd through a loopback port forward; the guest reaches the host's loopback
services (a test's Mosquitto) at ``10.0.2.2``. Nothing else leaves qemu.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from pathlib import Path

from tests.conftest import free_port

HOST_FROM_GUEST = "10.0.2.2"
"""The address at which the guest reaches the host's loopback services (qemu user-mode networking)."""


def vm_image() -> Path | None:
    """The cached image folder (scripts/install_vm.sh), or None where it was not built or qemu is missing."""
    if shutil.which("qemu-system-x86_64") is None:
        return None
    cache = Path(os.environ.get("EDGEKIT_VM_CACHE", "/var/cache/edgekit-ci"))
    found = sorted(cache.glob("vm-x86_64-*/.complete"), key=lambda p: p.stat().st_mtime)
    return found[-1].parent if found else None


class VM:
    """One booted guest; ``with VM(image, tmp) as vm: vm.ssh("systemctl is-system-running")``."""

    login = "root"  # the user the harness logs in as (waiting for sshd, powering off)

    def __init__(self, image: Path, work: Path, memory_mb: int = 1536,
                 shares: dict[str, Path] | None = None, cpu: str = "max") -> None:
        self.image, self.work, self.memory_mb = image, work, memory_mb
        self.cpu = cpu
        self.shares = dict(shares or {})  # mount tag -> host folder, read-only in the guest (see mount_shares)
        self.work.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.console = work / "console.log"
        self.known_hosts = work / "known_hosts"
        host_key = (image / "host_key.pub").read_text().split()
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {host_key[0]} {host_key[1]}\n")
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> VM:
        try:
            self.boot()
        except BaseException:
            self.stop()  # a guest that never answered is still running: never leave it behind
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def options(self) -> list[str]:
        """ssh/scp options that reach this guest with the image's key, checking its host key (no port)."""
        return ["-i", str(self.image / "vm_key"), "-o", "BatchMode=yes",
                "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "StrictHostKeyChecking=yes",
                "-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=6"]

    @property
    def ssh_args(self) -> list[str]:
        return [*self.options, "-p", str(self.port)]

    def boot(self, timeout: float = 600.0) -> None:
        overlay = self.work / "overlay.qcow2"
        if not overlay.exists():
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b",
                            str(self.image / "root.img"), str(overlay)], check=True)
        # -cpu max: TCG's default model (qemu64) lacks SSE4.x/AVX, which the wheels a bundle installs may use
        cmd = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", self.cpu, "-m", str(self.memory_mb), "-smp", "1",
               "-display", "none",
               "-no-user-config", "-nodefaults",
               "-kernel", str(self.image / "vmlinuz"), "-initrd", str(self.image / "initrd.img"),
               "-append", "root=/dev/vda rw console=ttyS0 net.ifnames=0",
               "-drive", f"file={overlay},format=qcow2,if=virtio",
               "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{self.port}-:22",
               "-device", "virtio-net-pci,netdev=n0",
               "-serial", f"file:{self.console}"]
        for tag, path in self.shares.items():
            cmd += ["-virtfs", f"local,path={path},mount_tag={tag},security_model=none,readonly=on"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.wait_ssh(timeout)

    def wait_ssh(self, timeout: float = 600.0) -> None:
        """Until the guest's sshd answers a command (qemu exiting ends the wait at once, with its console)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"qemu exited ({self.proc.returncode}): {self._tail()}")
            r = subprocess.run(["ssh", *self.ssh_args, f"{self.login}@127.0.0.1", "true"], capture_output=True,
                               timeout=60, check=False)
            if r.returncode == 0:
                return
            time.sleep(2)  # sshd is not up yet: each try costs the guest CPU, so not faster than this
        raise TimeoutError(f"the VM's sshd did not answer in {timeout:.0f} s: {self._tail()}")

    def _tail(self) -> str:
        text = self.console.read_text(errors="replace") if self.console.exists() else ""
        return " | ".join(text.strip().splitlines()[-8:])

    def ssh(self, command: str, user: str | None = None, check: bool = True,
            timeout: float = 300.0) -> subprocess.CompletedProcess[str]:
        """Run ``command`` in the guest as ``user`` (default: the harness's login; a login shell's environment is
        not needed by the tests)."""
        r = subprocess.run(["ssh", *self.ssh_args, f"{user or self.login}@127.0.0.1", command], capture_output=True,
                           text=True,
                           timeout=timeout, check=False)
        if check and r.returncode != 0:
            raise RuntimeError(f"{command!r} failed in the VM ({r.returncode}): {r.stderr.strip()[-500:]}")
        return r

    def mount_shares(self, under: str = "/mnt") -> dict[str, str]:
        """Mount each shared host folder read-only at ``under/TAG`` in the guest (9p over virtio): the guest runs the
        host's code without a copy. Returns tag -> guest path."""
        paths = {tag: f"{under}/{tag}" for tag in self.shares}
        for tag, where in paths.items():
            self.ssh(f"mkdir -p {where} && (mountpoint -q {where} || mount -t 9p -o "
                     f"trans=virtio,version=9p2000.L,ro,msize=524288,cache=loose {tag} {where})")
        return paths

    def copy_in(self, src: Path, dest: str, user: str | None = None) -> None:
        subprocess.run(["scp", "-q", *self.options, "-P", str(self.port), str(src),
                        f"{user or self.login}@127.0.0.1:{dest}"],
                       check=True, timeout=600)

    def reboot(self, timeout: float = 600.0) -> None:
        """``systemctl reboot`` in the guest, then wait until its sshd answers again (a new boot id)."""
        before = self.ssh("cat /proc/sys/kernel/random/boot_id").stdout.strip()
        self.ssh("systemctl reboot", check=False, timeout=60)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.wait_ssh(max(1.0, deadline - time.monotonic()))
            r = self.ssh("cat /proc/sys/kernel/random/boot_id", check=False, timeout=60)
            if r.returncode == 0 and r.stdout.strip() not in ("", before):
                return
            time.sleep(2)
        raise TimeoutError(f"the VM did not come back from its reboot in {timeout:.0f} s: {self._tail()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):  # no answer: the kill below ends it
            self.ssh("sudo -n systemctl poweroff" if self.login != "root" else "systemctl poweroff", check=False,
                     timeout=30)
        try:
            self.proc.wait(120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(30)



class AArch64VM(VM):
    """An SD-card image (``edgekit image``) booted under ``qemu-system-aarch64 -M virt -cpu cortex-a72`` (TCG).

    qemu's ``virt`` board stands in for the Raspberry Pi's firmware bootloader: the kernel and initrd are taken from
    the image's own root and ``root=LABEL=RASPIROOT`` finds the image's ext4 partition, so the image's kernel,
    initramfs, fstab (the FAT partition at /boot/firmware), systemd units and network files are the ones that run;
    the Pi's firmware, config.txt and device tree are not. The guest's host keys are made at its first boot, so its
    key is trusted on first use (accept-new), then checked; the harness logs in as ``edgekit`` with ``key``.
    """

    login = "edgekit"

    def __init__(self, disk: Path, kernel: Path, initrd: Path, key: Path, work: Path, memory_mb: int = 2048,
                 append: str = "") -> None:
        self.disk, self.kernel, self.initrd, self.key, self.append = disk, kernel, initrd, key, append
        self.image, self.work, self.memory_mb = disk.parent, work, memory_mb
        self.work.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.console = work / "console.log"
        self.known_hosts = work / "known_hosts"
        self.known_hosts.touch()
        self.proc = None

    @property
    def options(self) -> list[str]:
        return ["-i", str(self.key), "-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={self.known_hosts}",
                "-o", "StrictHostKeyChecking=accept-new", "-o", "ConnectTimeout=10",
                "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=6"]

    def boot(self, timeout: float = 1800.0) -> None:
        overlay = self.work / "overlay.qcow2"
        if not overlay.exists():
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", str(self.disk),
                            str(overlay)], check=True)
        cmd = ["qemu-system-aarch64", "-M", "virt", "-accel", "tcg", "-cpu", "cortex-a72", "-m", str(self.memory_mb),
               "-smp", "2", "-display", "none", "-no-user-config", "-nodefaults",
               "-kernel", str(self.kernel), "-initrd", str(self.initrd),
               "-append", f"root=LABEL=RASPIROOT rw rootwait console=ttyAMA0 {self.append}".strip(),
               "-drive", f"file={overlay},format=qcow2,if=virtio",
               "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{self.port}-:22",
               "-device", "virtio-net-pci,netdev=n0",
               "-serial", f"file:{self.console}"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.wait_ssh(timeout)
