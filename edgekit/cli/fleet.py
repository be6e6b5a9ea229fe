"""``edgekit fleet``: the fleet as the hub's PostgreSQL store sees it (``status``, ``events``), and the
boards' broker set-up (``credentials``: their logins and ACL on the centre; ``bridge``: a board's bridge file)."""

from __future__ import annotations

import re
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.text import Text

from edgekit.cli._common import console, print_json, untrusted
from edgekit.errors import EdgekitError

fleet_app = typer.Typer(help="See the fleet: boards and their events in the hub's database.", no_args_is_help=True)
_UNIT_NAMES = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def _dsn(config: Path | None, dsn: str | None) -> tuple[str, float]:
    if dsn:
        return dsn, 120.0
    if config is None:
        raise EdgekitError("give --config hub.yaml or --dsn postgresql://...")
    from edgekit.config.hub import load_hub_config

    cfg = load_hub_config(config)
    return cfg.database.dsn, cfg.limits.offline_after_s


def _add_urls(rows: list[dict[str, Any]], config: Path | None) -> None:
    """Presigned snapshot URLs when the hub config names the boards' S3 storage (credentials from the env)."""
    if config is None:
        return
    from edgekit.config.hub import load_hub_config

    s3cfg = load_hub_config(config).s3
    if s3cfg is None or not any(r.get("snapshot_key") for r in rows):
        return
    from edgekit.hub.fleet import presign
    from edgekit.storage.s3 import make_client

    presign(rows, make_client(s3cfg), s3cfg.bucket, s3cfg.prefix)


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, n in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= n:
            return f"{seconds / n:.0f}{unit} ago"
    return f"{seconds:.0f}s ago"


def _time(text: str | None, what: str) -> float | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise EdgekitError(f"{what} {text!r} is not an ISO time like 2026-11-26 or 2026-11-26T08:30") from None


def _window(last: str | None, today: bool, yesterday: bool, this_week: bool, since: str | None,
            until: str | None) -> Any:
    """The options as the assistant's query ``Window`` (one window at most)."""
    from edgekit.assistant.query import Window

    given = [n for n, v in (("--last", last), ("--today", today), ("--yesterday", yesterday),
                            ("--this-week", this_week), ("--since/--until", since or until)) if v]
    if len(given) > 1:
        raise EdgekitError(f"give one window, not {' and '.join(given)}")
    if last is not None:
        m = re.fullmatch(r"(\d+)\s*([mhdw])", last.strip())
        if not m or not 1 <= int(m.group(1)) <= 10_000:
            raise EdgekitError(f"--last {last!r}: use a number (1-10000) and m/h/d/w, e.g. 30m, 2h, 7d")
        return Window(name="last", amount=int(m.group(1)), unit=_UNIT_NAMES[m.group(2)])
    if since or until:
        _time(since, "--since")
        _time(until, "--until")
        return Window(name="range", since=since, until=until)
    name = "today" if today else "yesterday" if yesterday else "this_week" if this_week else "all_time"
    return Window(name=name)


CONFIG_OPT = typer.Option(None, "--config", "-c", help="Hub YAML (its database.dsn).")
DSN_OPT = typer.Option(None, "--dsn", help="PostgreSQL DSN instead of --config.")


@fleet_app.command("status")
def status(config: Path | None = CONFIG_OPT, dsn: str | None = DSN_OPT,
           json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Each board: online/offline/stale, last event, versions, outbox backlog, temperature, event count."""
    from edgekit.hub.fleet import board_status, connect

    url, offline_after = _dsn(config, dsn)
    with connect(url) as conn:
        boards = board_status(conn, offline_after)
    if json_out:
        print_json(boards)
        return
    from rich.table import Table

    table = Table("board", "state", "last seen", "last event", "events", "backlog", "temp °C", "version")
    now = time.time()
    colour = {"online": "green", "offline": "red", "stale": "yellow", "unknown": "dim"}
    for b in boards:
        # device, backlog, temperature and version are what the board sent: text, never markup
        temp = b["temp_c"]
        table.add_row(untrusted(b["device"]), f"[{colour[b['state']]}]{b['state']}[/]", _ago(b["last_seen_s"]),
                      _ago(None if b["last_event_ts"] is None else now - b["last_event_ts"]), str(b["events"]),
                      untrusted("-" if b["backlog"] is None else b["backlog"]),
                      f"{temp:.0f}" if isinstance(temp, (int, float)) else untrusted("-" if temp is None else temp),
                      untrusted(b["version"] or "-"))
    console.print(table)
    up = sum(b["state"] == "online" for b in boards)
    console.print(f"{len(boards)} board(s), {up} online")


@fleet_app.command("events")
def events(
    config: Path | None = CONFIG_OPT, dsn: str | None = DSN_OPT,
    device: str | None = typer.Option(None, "--device", "--board", help="Only this board."),
    camera: str | None = typer.Option(None, "--camera", help="Only this camera (the event's source)."),
    label: str | None = typer.Option(None, "--label", help="Only this label."),
    rule: str | None = typer.Option(None, "--rule", help="Only this rule."),
    track: int | None = typer.Option(None, "--track", min=0, help="Only this track id."),
    last: str | None = typer.Option(None, "--last", help="Window: the last 30m / 2h / 1d / 1w."),
    today: bool = typer.Option(False, "--today", help="Window: since local midnight."),
    yesterday: bool = typer.Option(False, "--yesterday", help="Window: the previous calendar day."),
    this_week: bool = typer.Option(False, "--this-week", help="Window: since Monday 00:00."),
    since: str | None = typer.Option(None, "--since", help="Window start, ISO local time."),
    until: str | None = typer.Option(None, "--until", help="Window end, ISO local time."),
    limit: int = typer.Option(50, "--limit", min=1, max=10000, help="Events listed at most (newest first)."),
    count: bool = typer.Option(False, "--count", help="Print only how many events match."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Events from every board, newest first, with the assistant's filters."""
    from edgekit.hub.fleet import EventFilter, connect, count_events, query_events

    window = _window(last, today, yesterday, this_week, since, until)
    # the assistant's window semantics: calendar days in the local zone, "last N units" before now
    t_since, t_until = window.bounds(datetime.now().astimezone())
    flt = EventFilter(device=device, camera=camera, label=label, rule=rule, track=track,
                      since=None if t_since is None else t_since.timestamp(),
                      until=None if t_until is None else t_until.timestamp())
    url, _ = _dsn(config, dsn)
    with connect(url) as conn:
        if count:
            n = count_events(conn, flt)
            print_json({"count": n}) if json_out else console.print(str(n))
            return
        rows: list[dict[str, Any]] = query_events(conn, flt, limit)
    _add_urls(rows, config)
    if json_out:
        print_json(rows)
        return
    from rich.table import Table

    table = Table("time", "board", "camera", "rule", "label", "score", "track", "snapshot")
    for r in rows:
        # every text column came from a board: text, never markup
        table.add_row(datetime.fromtimestamp(r["start_ts"]).strftime("%Y-%m-%d %H:%M:%S"), untrusted(r["device"]),
                      untrusted(r["source"]), untrusted(r["rule"]), untrusted(r["label"]), f"{r['score']:.2f}",
                      "-" if r["track_id"] is None else str(r["track_id"]),
                      untrusted(r.get("snapshot_url") or r["snapshot_key"] or r["snapshot"] or "-"))
    console.print(table)
    console.print(f"{len(rows)} event(s)")


@fleet_app.command("bridge")
def bridge(
    config: Path | None = typer.Option(None, "--config", "-c", help="The board's daemon YAML (with a `bridge:` "
                                       "section)."),
    release: Path | None = typer.Option(None, "--release", help="An unpacked bundle (a release folder): fill its "
                                        "bridge file with this board's values instead of writing one from --config."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write here (e.g. /etc/mosquitto/conf.d/"
                                    "edgekit-bridge.conf); default: print."),
    persistence_dir: str | None = typer.Option(None, "--persistence-dir",
                                               help="Where the board's Mosquitto keeps queued messages; default: "
                                               "what its main mosquitto.conf says (the file is a conf.d fragment)."),
) -> None:
    """The board's Mosquitto config with its bridge to the central broker (run on the board: device name and
    password come from its config and environment)."""
    import os

    from edgekit.hub.bridge import bridge_conf, fill_bridge

    if (config is None) == (release is None):
        raise EdgekitError("give --config daemon.yaml (write the bridge file) or --release DIR (fill a bundle's)")
    if release is not None:
        from edgekit.deploy.manifest import MANIFEST, Manifest

        try:
            manifest = Manifest.model_validate_json((release / MANIFEST).read_text())
        except (OSError, ValueError) as e:
            raise EdgekitError(f"{release}: not an unpacked edgekit bundle ({type(e).__name__})") from None
        if manifest.bridge is None:
            raise EdgekitError(f"bundle {manifest.id} carries no bridge file (its config has no `bridge:` section)")
        text = fill_bridge((release / manifest.bridge).read_text(), os.environ, manifest.device)
    else:
        from edgekit.config.daemon import load_config

        assert config is not None
        cfg = load_config(config)
        if cfg.bridge is None or cfg.mqtt is None:
            raise EdgekitError(f"{config} has no `bridge:` section (host, port, ca_certs...) to write a bridge from")
        text = bridge_conf(cfg.device, cfg.bridge, cfg.mqtt.topic_prefix, persistence_dir=persistence_dir,
                           listener_port=cfg.mqtt.port)
    if out is None:
        sys.stdout.write(text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    tmp.touch(mode=0o600)  # it holds the board's password: never readable by others, not even for a moment
    tmp.chmod(0o600)
    tmp.write_text(text)
    tmp.replace(out)


@fleet_app.command("credentials")
def credentials(
    devices: list[str] = typer.Argument(..., help="The boards' device names (each becomes its login)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the password file, ACL, broker fragment and env "
                             "files (created 0700, files 0600)."),
    prefix: str = typer.Option("edgekit", "--prefix", help="The fleet's MQTT topic prefix (mqtt.topic_prefix)."),
    hub_user: str = typer.Option("edgekit-hub", "--hub-user", help="The hub's login (reads every board's topics)."),
    password_env: str = typer.Option("EDGEKIT_BRIDGE_PASSWORD", "--password-env",
                                     help="The boards' bridge.password_env (the variable their env file sets)."),
    force: bool = typer.Option(False, "--force", help="Replace existing files (every board needs its new password)."),
    add: bool = typer.Option(False, "--add", help="Add these boards to the existing folder: the other logins, the "
                             "ACL and the hub's password stay."),
) -> None:
    """One login per board for the central broker and an ACL that lets each board write only its own topics.

    Writes passwd (Mosquitto's password_file), acl (its acl_file), mosquitto-auth.conf (a conf.d fragment naming
    both), hub.env (the hub's password) and boards/DEVICE.env (each board's EDGEKIT_DEVICE and bridge password, for
    its env file). Passwords are never printed."""
    from edgekit.hub.credentials import Credentials, added_files, write_files

    if not re.fullmatch(r"[A-Z][A-Z0-9_]*", password_env):
        raise EdgekitError(f"--password-env {password_env!r}: use an environment variable name like "
                           "EDGEKIT_BRIDGE_PASSWORD")
    if add and force:
        raise EdgekitError("give --add (new boards beside the others) or --force (replace every login), not both")
    if add:
        files = added_files(out, devices, password_env)
        write_files(files, replace=[out / "passwd"])
    else:
        files = Credentials.generate(devices, hub_user).files(out, prefix, password_env)
        write_files(files, force)
    for path in files:
        console.print(Text(str(path)))
    if add:
        console.print(Text(f"{len(devices)} board login(s) added: reload the central broker (SIGHUP) and put each "
                           "boards/DEVICE.env into that board's env file."))
        return
    console.print(Text(f"{len(devices)} board login(s) and {hub_user!r} for the hub. On the central broker: "
                       f"`chown mosquitto {out / 'passwd'} {out / 'acl'}` (Mosquitto 2 reads them as its own user), "
                       f"include {out / 'mosquitto-auth.conf'} from its conf.d; hub.yaml: "
                       f"mqtt.username {hub_user}, mqtt.password '{{EDGEKIT_HUB_MQTT_PASSWORD}}' from hub.env; each "
                       "board's env file: its boards/DEVICE.env."))


def register(app: typer.Typer) -> None:
    app.add_typer(fleet_app, name="fleet")
