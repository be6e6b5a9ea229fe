"""``edgekit image``: a flashable Raspberry Pi SD-card image; ``check-settings``: its first-boot file, checked."""

from __future__ import annotations

from pathlib import Path

import typer

from edgekit.cli._common import console
from edgekit.errors import EdgekitError

image_app = typer.Typer(help="Build a flashable Raspberry Pi SD-card image, or check its first-boot settings.",
                        invoke_without_command=True)


@image_app.callback()
def image(
    ctx: typer.Context,
    profile: str | None = typer.Option(None, "--profile", "-p", help="Board profile: rpi4 (rpi5 and jetson-* "
                                       "have no image: the error says what to do instead)."),
    config: Path | None = typer.Option(None, "--config", "-c", help="Daemon YAML config to install."),
    bundle: Path | None = typer.Option(None, "--bundle", help="A signed bundle to install instead of building one "
                                       "(edgekit bundle --machine aarch64 --python 3.11)."),
    out: Path = typer.Option(Path("edgekit.img"), "--out", "-o", help="Image file, or a block device (/dev/sdX)."),
    settings: Path | None = typer.Option(None, "--settings", help="First-boot settings to put on the FAT "
                                         "partition (default: a commented template to edit before the first boot)."),
    size: str | None = typer.Option(None, "--size", help="Image size, e.g. 4G (default: the least that fits; the "
                                    "root grows to nothing by itself, so give the card's size to use it all)."),
    cache: Path | None = typer.Option(None, "--cache", help="Where the base root is cached (default: "
                                      "$EDGEKIT_IMAGE_CACHE or ~/.cache/edgekit/image)."),
    plan: Path | None = typer.Option(None, "--plan", help="Tuned plan the built bundle ships (default: your plan "
                                     "store's for the profile and model)."),
    no_plan: bool = typer.Option(False, "--no-plan", help="The built bundle ships no tuned plan."),
    trusted_key: list[Path] = typer.Option([], "--trusted-key", help="Also trust this public key file."),
    insecure_unsigned: bool = typer.Option(False, "--insecure-unsigned",
                                           help="Install a --bundle that is unsigned or signed by an untrusted key."),
) -> None:
    """Build a Debian 12 arm64 SD-card image with the bundle installed and its service enabled."""
    if ctx.invoked_subcommand:
        return
    from edgekit.image.build import ImageOptions, build_image, check_profile
    from edgekit.image.layout import parse_size
    from edgekit.image.settings import load_settings

    if profile is None:
        raise EdgekitError("pass --profile rpi4 (the board the image is for)")
    check_profile(profile)
    s = load_settings(settings) if settings is not None else None
    opts = ImageOptions(profile=profile, out=out, config=config, bundle=bundle, settings=s,
                        size=parse_size(size) if size else None, cache=cache, trusted=trusted_key,
                        insecure_unsigned=insecure_unsigned, plan=plan, no_plan=no_plan)
    if bundle is not None and (plan is not None or no_plan):
        raise EdgekitError("--plan/--no-plan choose what a bundle built here ships; --bundle FILE ships its own")
    if bundle is None and config is not None:
        from edgekit.deploy.bundle import check_inputs
        from edgekit.deploy.signing import operator_key
        from edgekit.image.build import bundle_options

        check_inputs(bundle_options(opts, out))  # a bad config or --plan is one line before anything is written
        opts.key = operator_key()[0]
    layout = build_image(opts, say=lambda line: console.print(f"[dim]{line}[/]", highlight=False))
    console.print(f"wrote {out} ({layout.total >> 20} MiB): write it to an SD card, edit edgekit-settings.yaml on "
                  "its boot partition, boot", highlight=False)


@image_app.command("check-settings")
def check_settings(
    file: Path = typer.Argument(..., help="The edgekit-settings.yaml to check (e.g. on the SD card's boot "
                                "partition)."),
    bundle: Path | None = typer.Option(None, "--bundle", help="Also check it gives every secret this bundle's "
                                       "config needs."),
) -> None:
    """Check a first-boot settings file as the board will: one line and exit 2 for the first problem."""
    from edgekit.image.settings import load_settings

    needed = None
    if bundle is not None:
        from edgekit.deploy.bundle import bundle_env_vars

        needed = bundle_env_vars(bundle)
    s = load_settings(file, needed)
    console.print(f"{file}: ok — hostname {s.hostname}, {len(s.ssh_authorized_keys)} SSH key(s), "
                  f"wifi {'on' if s.wifi else 'off'}, env {', '.join(s.env) or 'none'}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(image_app, name="image")
