"""``edgekit deploy BUNDLE ssh://user@host[:port]`` (or ``--inventory boards.yaml``): releases with rollback."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from edgekit.cli._common import console
from edgekit.cli._progress import Step, progress, quiet_step
from edgekit.errors import EdgekitError


def deploy(
    bundle: Path = typer.Argument(..., help="Bundle from `edgekit bundle`."),
    target: str | None = typer.Argument(None, help="ssh://user@host[:port] (or use --inventory)."),
    inventory: Path | None = typer.Option(None, "--inventory", "-I", help="Boards YAML (rolling batches)."),
    env_file: Path | None = typer.Option(None, "--env-file", help="Secrets (KEY=value); default: your environment."),
    device: str | None = typer.Option(None, "--device", help="Device name on this board (MQTT client id, HA ids)."),
    manager: str = typer.Option("systemd-user", "--manager",
                                help="Service manager on the board: systemd-user, systemd (sudo -n) or process."),
    base: str = typer.Option("edgekit", "--base", help="Folder on the board (relative: under the user's home)."),
    python: str = typer.Option("python3", "--python", help="The board's Python (>= 3.10)."),
    ssh_option: list[str] = typer.Option([], "--ssh-option", help="ssh -o option, e.g. --ssh-option Port=2222."),
    identity: Path | None = typer.Option(None, "--identity", "-i", help="SSH private key."),
    health_timeout: float = typer.Option(120.0, "--health-timeout", help="Seconds to wait for /healthz."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; change nothing."),
    trusted_key: list[Path] = typer.Option([], "--trusted-key", help="Also trust this public key file (from "
                                           "`edgekit bundle key`); yours and ~/.config/edgekit/signing/trusted/*.pub "
                                           "are trusted already."),
    insecure_unsigned: bool = typer.Option(False, "--insecure-unsigned",
                                           help="Deploy a bundle that is unsigned or signed by a key you don't trust."),
) -> None:
    """Install BUNDLE as a new release on a board, switch to it, wait until healthy; else roll back."""
    from edgekit.deploy.bundle import bundle_env_vars, signed_parts, verify_bundle
    from edgekit.deploy.inventory import load_inventory, rollout
    from edgekit.deploy.remote import SSHTarget
    from edgekit.deploy.rollout import MANAGERS, DeployOptions, board_env, check_base, deploy_one
    from edgekit.deploy.signing import check_signature, trusted_keys

    if manager not in MANAGERS:
        raise EdgekitError(f"--manager {manager!r}: choose one of {', '.join(MANAGERS)}")
    if (target is None) == (inventory is None):
        raise EdgekitError("give either a target (ssh://user@host[:port]) or --inventory FILE")
    t0 = time.monotonic()
    step: Step = quiet_step

    def trust_bundle() -> None:
        """After the arguments were checked, before any board is contacted: a readable bundle, signed by a key
        the operator trusts (unless --insecure-unsigned)."""
        verify_bundle(bundle, check_files=False)
        if insecure_unsigned:
            console.print("[yellow]--insecure-unsigned: the bundle's signature is not checked[/]", highlight=False)
        else:
            check_signature(bundle, *signed_parts(bundle), trusted_keys(trusted_key))

    def say(line: str) -> None:  # progress on stdout (with the seconds since the start): a failure is the one
        # line on stderr; on a terminal the step also shows as a Rich progress step (one per board)
        console.print(line if dry_run else f"[dim]{time.monotonic() - t0:6.1f} s  {line}[/]", soft_wrap=True,
                      highlight=False)
        board, _, what = line.partition(": ") if not dry_run else ("", "", "")
        if what:
            step(line, key=board)

    if inventory is not None:
        inv, root = load_inventory(inventory)  # bad input says so before the bundle is hashed
        trust_bundle()
        manifest = verify_bundle(bundle)  # once for every board
        with progress() as step:
            results = rollout(bundle, manifest, inv, root, dry_run=dry_run, health_timeout_s=health_timeout, say=say)
        for r in results:
            console.print(f"{'ok  ' if r.ok else 'FAIL'} {r.board}: {r.message}")
        if len(results) < len(inv.boards) or not all(r.ok for r in results):
            bad = next((r for r in results if not r.ok), None)
            raise EdgekitError(f"rollout stopped: {bad.message if bad else 'a board failed'}")
        return
    assert target is not None
    check_base(base)
    opts = [a for o in ssh_option for a in ("-o", o)]
    if identity is not None:
        opts += ["-i", str(identity.expanduser())]
    tgt = SSHTarget.parse(target, opts)
    overrides = board_overrides_for(device) if device else {}
    trust_bundle()
    env = board_env(bundle_env_vars(bundle), env_file, overrides)
    # the full check of the bundle runs in deploy_one, once the board has answered
    with progress() as step:
        res = deploy_one(bundle, tgt, DeployOptions(base=base, manager=manager, python=python,
                                                     health_timeout_s=health_timeout, env=env),
                         None, dry_run=dry_run, say=say)
    if not dry_run:
        console.print(f"{tgt.name}: {res.message}")


def board_overrides_for(device: str) -> dict[str, str]:
    """``--device NAME``: the board's own device name and MQTT client id."""
    from edgekit.deploy.inventory import Board, board_overrides

    return board_overrides(Board(target="ssh://x", device=device))


def register(app: typer.Typer) -> None:
    app.command("deploy")(deploy)
