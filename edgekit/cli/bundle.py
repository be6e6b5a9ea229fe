"""``edgekit bundle``: pack a config, its model, edgekit and the board's locked wheels into one file; ``verify``."""

from __future__ import annotations

from pathlib import Path

import typer

from edgekit.cli._common import console, print_json
from edgekit.cli._progress import progress
from edgekit.errors import EdgekitError

bundle_app = typer.Typer(help="Make a deployable bundle for a board, or verify one.", invoke_without_command=True)


@bundle_app.callback()
def bundle(
    ctx: typer.Context,
    config: Path | None = typer.Option(None, "--config", "-c", help="Daemon YAML config to ship."),
    profile: str | None = typer.Option(None, "--profile", "-p", help="Device profile (default: the config's)."),
    out: Path = typer.Option(Path("edgekit-bundle.tar.gz"), "--out", "-o", help="Bundle file to write."),
    machine: str | None = typer.Option(None, "--machine", help="Board CPU (uname -m); default from the profile."),
    python: str | None = typer.Option(None, "--python", help="Board CPython MAJOR.MINOR; default from the profile."),
    system_site: bool | None = typer.Option(
        None, "--system-site/--no-system-site",
        help="Venv over the board's system packages (picamera2, JetPack): numpy 1.x, system OpenCV. Default: "
        "from the profile's camera/backend."),
    wheel: Path | None = typer.Option(None, "--wheel", help="edgekit wheel to ship (default: build this checkout)."),
    refresh: bool = typer.Option(False, "--refresh", help="Resolve the board's wheels again (default: reuse the "
                                 "set cached for the same requirements and board)."),
    plan: Path | None = typer.Option(None, "--plan", help="Tuned plan to ship (edgekit tune's JSON; default: "
                                     "your plan store's for the profile and model)."),
    no_plan: bool = typer.Option(False, "--no-plan", help="Ship no tuned plan: the board runs the profile's table."),
    json_out: bool = typer.Option(False, "--json", help="Print the manifest as JSON."),
) -> None:
    """Write a bundle: edgekit's wheel, the board's locked wheels, the model, config, unit and env template, and
    the tuned plan for the profile with the model it runs."""
    if ctx.invoked_subcommand:
        return
    if config is None:
        raise EdgekitError("pass --config FILE (the daemon config to ship), e.g. edgekit bundle -c cam.yaml -p rpi5")
    from edgekit.deploy.bundle import BundleOptions, build_bundle, check_inputs, plan_line, target_summary
    from edgekit.deploy.signing import operator_key, signing_dir

    opts = BundleOptions(config=config, out=out, profile=profile, machine=machine, python=python,
                         system_site=system_site, wheel=wheel, refresh=refresh, plan=plan, no_plan=no_plan)
    inputs = check_inputs(opts)  # a bad input is one line before anything (the signing key too) is written
    opts.key, made = operator_key()
    if made:
        console.print(f"made your bundle signing key: {signing_dir() / 'bundle.key'} (keep it; `edgekit bundle key` "
                      "prints the public half for other deployers)", highlight=False)
    with progress(enabled=not json_out) as step:
        m = build_bundle(opts, step, inputs)
    if json_out:
        print_json(m.model_dump(mode="json"))
        return
    size = out.stat().st_size / 2**20
    console.print(f"wrote {out} ({size:.0f} MiB): bundle {m.id}, profile {m.profile}, {target_summary(m.target)}")
    console.print(f"model: {m.model.file} ({m.model.precision}) {m.model.note}".rstrip())
    console.print(plan_line(m), markup=False, highlight=False)
    console.print(f"{len(m.packages)} locked packages; numpy {m.packages.get('numpy', 'from the system')}")
    if m.env_vars:
        console.print(f"the board's env file needs: {', '.join(m.env_vars)}")


@bundle_app.command("verify")
def verify(
    file: Path = typer.Argument(..., help="Bundle to check."),
    json_out: bool = typer.Option(False, "--json", help="Print the manifest as JSON."),
    trusted_key: list[Path] = typer.Option([], "--trusted-key", help="Also trust this public key file."),
) -> None:
    """Check every file of a bundle against its manifest (sha256 and size), its id, and who signed it."""
    from edgekit.deploy.bundle import signed_parts, target_summary, verify_bundle
    from edgekit.deploy.signing import check_signature, trusted_keys

    m = verify_bundle(file)
    signer = check_signature(file, *signed_parts(file), trusted_keys(trusted_key))
    if json_out:
        print_json({**m.model_dump(mode="json"), "signed_by": signer})
        return
    console.print(f"{file}: ok — bundle {m.id}, {len(m.files)} files, profile {m.profile}, "
                  f"{target_summary(m.target)}, signed by trusted key {signer}")


@bundle_app.command("key")
def key() -> None:
    """Print your public signing key (made at the first bundle): another deployer trusts your bundles by saving it
    as ~/.config/edgekit/signing/trusted/NAME.pub."""
    from edgekit.deploy.signing import operator_key, public_line, public_raw

    k, _ = operator_key()
    print(public_line(public_raw(k)), end="")


def register(app: typer.Typer) -> None:
    app.add_typer(bundle_app, name="bundle")
