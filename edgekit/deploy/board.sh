# edgekit's board-side steps, run by `edgekit deploy` as `sh -c "<this file>" edgekit-board ACTION BASE ARGS...`.
# POSIX sh only (the board may have nothing else). Secrets arrive on stdin, never as arguments.
# Layout under BASE: releases/<id>/ (bundle + venv + edgekit.env), current -> releases/<id>, previous (id),
# envs/<key>/ (the locked dependencies, shared by releases of one lock),
# state/ (0700: outbox, events, snapshots; kept across releases), logs/, incoming/.
set -eu
action=$1; base=$2; shift 2
case "$base" in /*) ;; *) base="$HOME/$base" ;; esac
umask 077

say() { printf '%s\n' "$*"; }
fail() { printf 'board: %s\n' "$*" >&2; exit 3; }
why() {  # why OUTPUT STATUS: a failed command's last line, or its exit status where it printed nothing (a signal)
    line=$(printf '%s\n' "$1" | tail -n 1 | sed 's/^error: //')
    if [ -n "$line" ]; then printf '%s' "$line"; else printf 'exit status %s, no output' "$2"; fi
}

bridge() {  # bridge MANAGER: the `current` release's Mosquitto bridge (if it has one), filled from its env file
    conf=/etc/mosquitto/conf.d/edgekit-bridge.conf
    if [ ! -f "$base/current/mosquitto/edgekit-bridge.conf" ]; then  # none (any more): take out the one we put in
        [ -f "$base/mosquitto/edgekit-bridge.conf" ] || return 0
        if [ "$1" = systemd ] && sudo -n cmp -s "$base/mosquitto/edgekit-bridge.conf" "$conf"; then
            sudo -n rm -f "$conf"
            sudo -n systemctl restart mosquitto
        fi
        rm -f "$base/mosquitto/edgekit-bridge.conf"
        return 0
    fi
    mkdir -p "$base/mosquitto"
    out=$( cd "$base/current" && set -a && . ./edgekit.env && set +a \
        && venv/bin/edgekit fleet bridge --release . --out "$base/mosquitto/edgekit-bridge.conf" 2>&1 ) \
        || fail "$(printf '%s\n' "$out" | tail -n 1 | sed 's/^error: //')"
    # With root (the systemd manager): into the board's Mosquitto, restarted only when the file changed. Otherwise
    # it stays in $base/mosquitto/ for the board's admin to include (README, "Many boards").
    if [ "$1" = systemd ] && ! sudo -n cmp -s "$base/mosquitto/edgekit-bridge.conf" "$conf"; then
        sudo -n install -m 0640 -g mosquitto "$base/mosquitto/edgekit-bridge.conf" "$conf"
        sudo -n systemctl restart mosquitto
    fi
}

user_manager() {  # for systemctl --user: linger on (else the service stops when the SSH session ends), its bus
    me=$(id -un)
    if [ "$(loginctl show-user "$me" -p Linger --value 2>/dev/null)" != yes ]; then
        loginctl enable-linger 2>/dev/null || sudo -n loginctl enable-linger "$me" 2>/dev/null \
            || fail "cannot enable linger for $me (its service would stop at logout): run 'sudo loginctl enable-linger $me' on the board"
    fi
    export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/run/user/$(id -u)}"
}

unit_text() {  # the release's unit on BASE: it is written for the default base (%h/edgekit), which --base moves
    esc=$(printf '%s' "$base" | sed 's/[\\|&]/\\&/g')
    sed "s|%h/edgekit/|$esc/|g" "$base/current/edgekit.service"
}

restart() {  # restart MANAGER: (re)start the service on the `current` release
    mgr=$1
    bridge "$mgr"
    case "$mgr" in
    systemd-user)
        user_manager
        mkdir -p "$HOME/.config/systemd/user"
        # A user manager cannot drop capabilities: these settings (each shrinks the bounding set) fail its unit with
        # 218/CAPABILITIES (seen in the VM lane). A user's process has no capabilities to drop, NoNewPrivileges=
        # keeps it so, and SystemCallFilter=@system-service already refuses module loading and clock setting.
        unit_text | sed -E '/^(CapabilityBoundingSet|AmbientCapabilities|ProtectKernelModules|ProtectKernelLogs|ProtectClock)=/d' \
            > "$HOME/.config/systemd/user/edgekit.service"
        systemctl --user daemon-reload
        systemctl --user enable edgekit >/dev/null 2>&1
        systemctl --user restart edgekit ;;
    systemd)
        unit_text | sed "/^\[Service\]/a User=$(id -un)\nSupplementaryGroups=video" \
            | sed "s#%h#$HOME#g" > "$base/edgekit.service.system"
        sudo -n install -m 0644 "$base/edgekit.service.system" /etc/systemd/system/edgekit.service
        sudo -n systemctl daemon-reload
        sudo -n systemctl enable edgekit >/dev/null 2>&1
        sudo -n systemctl restart edgekit ;;
    process)
        # Stand-in for systemd on boards (and tests) without it: the unit's command, environment and restart
        # policy (restart on any exit but 2 = config error), supervised by a shell loop in its own process group.
        stop_process
        mkdir -p "$base/logs"
        # A quoted here-document: nothing is expanded into the script; it gets BASE as its argument, so no folder
        # name is ever read as shell code.
        cat > "$base/supervise.sh" <<'SUP'
#!/bin/sh
base=$1
while :; do
    ( set -a; . "$base/current/edgekit.env"; set +a; cd "$base/current"
      EDGEKIT_STATE="$base/state" EDGEKIT_CACHE="$base/cache" exec "$base/current/venv/bin/edgekit" run --config "$base/current/config.yaml" )
    rc=$?
    echo "edgekit exited $rc" >&2
    [ $rc = 2 ] && exit 2
    sleep 1
done
SUP
        setsid sh "$base/supervise.sh" "$base" </dev/null >>"$base/logs/edgekit.log" 2>&1 &
        echo $! > "$base/supervise.pid" ;;
    *) fail "unknown service manager $mgr" ;;
    esac
}

stop_process() {
    [ -f "$base/supervise.pid" ] || return 0
    pid=$(cat "$base/supervise.pid")
    # The supervisor leads its own process group (setsid): signal the whole group, daemon included. pkill -g, as
    # dash's kill builtin takes no `--` before a negative pid.
    if pgrep -g "$pid" >/dev/null 2>&1; then
        pkill -TERM -g "$pid" 2>/dev/null || true
        i=0
        while pgrep -g "$pid" >/dev/null 2>&1; do
            i=$((i + 1)); [ $i -gt 200 ] && { pkill -KILL -g "$pid" 2>/dev/null || true; }
            [ $i -gt 300 ] && fail "the old service (process group $pid) does not stop"
            sleep 0.1
        done
    fi
    rm -f "$base/supervise.pid"
}

switch() {  # switch ID: point `current` at releases/ID atomically
    ln -sfn "releases/$1" "$base/current.new"
    mv -T "$base/current.new" "$base/current"
}

case "$action" in
probe)  # probe PYTHON: print "<major>.<minor> <machine>" of the board's Python
    py=$1
    command -v "$py" >/dev/null 2>&1 || { say "none $(uname -m)"; exit 0; }
    "$py" -c 'import sys, platform; print("%d.%d" % sys.version_info[:2], platform.machine())' ;;
receive)  # receive ID < bundle
    # state/ and cache/ exist before the first start: the sandboxed service may write in them, not create them
    mkdir -p "$base/incoming" "$base/releases" "$base/state" "$base/cache" "$base/logs"
    chmod 700 "$base/state"
    cat > "$base/incoming/$1.tar.gz" ;;
unpack)  # unpack ID PYTHON SYSTEM_SITE(0|1): unpack, check every sha256 on the board, make and fill the venv
    id=$1; py=$2; syssite=$3; rel="$base/releases/$id"
    rm -rf "$rel"; mkdir -p "$rel"
    tar -xzf "$base/incoming/$id.tar.gz" -C "$rel"
    rm -f "$base/incoming/$id.tar.gz"
    # Files left out of the upload (the board had them: see `have`) are hard-linked from the release holding them;
    # then every file is checked against the manifest, linked or not.
    (cd "$rel" && "$py" - "$base/releases" <<'PY'
import glob, hashlib, json, os, shutil, sys
m = json.load(open("manifest.json"))
held = {}
for other in glob.glob(os.path.join(sys.argv[1], "*", "manifest.json")):
    if os.path.samefile(os.path.dirname(other), "."):
        continue
    for name, e in json.load(open(other))["files"].items():
        if os.path.isfile(os.path.join(os.path.dirname(other), name)):
            held.setdefault(e["sha256"], os.path.join(os.path.dirname(other), name))
for name, e in m["files"].items():
    if not os.path.exists(name):
        src = held.get(e["sha256"])
        if src is None or not os.path.isfile(src):
            sys.exit(f"{name} is neither in the upload nor on the board")
        os.makedirs(os.path.dirname(name) or ".", exist_ok=True)
        try:
            os.link(src, name)
        except OSError:
            shutil.copy2(src, name)
    h = hashlib.sha256()
    with open(name, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    if h.hexdigest() != e["sha256"]:
        sys.exit(f"{name} changed in transit (sha256 mismatch)")
PY
    ) || fail "bundle check failed on the board"
    flags=""; [ "$syssite" = 1 ] && flags="--system-site-packages"
    if [ -d "$rel/cache/exports" ]; then  # bundled exports: into the board's cache, kept across releases
        mkdir -p "$base/cache/exports"; cp -R "$rel/cache/exports/." "$base/cache/exports/"
    fi
    # The locked dependencies go into a layer shared by every release with the same lock, Python and venv kind
    # (envs/<key>, never changed once complete): a new release of the same lock installs only edgekit's wheel,
    # and a rollback finds its layer untouched. The release venv sees the layer through a .pth file.
    key=$("$py" - "$rel/requirements.lock" "$syssite" <<'PY'
import hashlib, sys
h = hashlib.sha256(open(sys.argv[1], "rb").read())
h.update(("%d.%d %s %s" % (*sys.version_info[:2], sys.implementation.cache_tag, sys.argv[2])).encode())
print(h.hexdigest()[:16])
PY
    )
    layer="$base/envs/$key"
    if [ ! -f "$layer/.complete" ]; then
        rm -rf "$layer"; mkdir -p "$base/envs"
        # shellcheck disable=SC2086
        "$py" -m venv $flags "$layer" || fail "python -m venv failed (Debian/Ubuntu: apt install python3-venv)"
        (cd "$rel" && "$layer/bin/python" -m pip install --quiet --disable-pip-version-check --no-compile --no-index \
            --find-links wheels --require-hashes -r requirements.lock) > "$rel/install.log" 2>&1 \
            || { tail -n 3 "$rel/install.log" >&2; rm -rf "$layer"; fail "pip install of the lock failed"; }
        echo "$id" > "$layer/.complete"
    fi
    # shellcheck disable=SC2086
    "$py" -m venv --without-pip $flags "$rel/venv" || fail "python -m venv failed (Debian/Ubuntu: apt install python3-venv)"
    site=$("$rel/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
    "$layer/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))' > "$site/edgekit-locked.pth"
    echo "$key" > "$rel/layer"
    whl=$("$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))["edgekit_wheel"])' "$rel/manifest.json")
    cd "$rel"
    # the layer's pip, run by the release's interpreter: it installs into the release venv
    venv/bin/python -m pip install --quiet --disable-pip-version-check --no-index --no-deps "$whl" \
        >> "$rel/install.log" 2>&1 || { tail -n 3 "$rel/install.log" >&2; fail "pip install of edgekit failed"; }
    touch "$rel/.installed" ;;
have)  # have PYTHON: the sha256 of every file the installed releases hold (an upload can leave those out)
    "$1" - "$base/releases" <<'PY'
import glob, json, os, sys
seen = set()
for man in glob.glob(os.path.join(sys.argv[1], "*", "manifest.json")):
    rel = os.path.dirname(man)
    if os.path.isfile(os.path.join(rel, ".installed")):
        seen.update(e["sha256"] for n, e in json.load(open(man))["files"].items() if os.path.isfile(os.path.join(rel, n)))
print("\n".join(sorted(seen)))
PY
    ;;
has)  # has ID: "yes" when releases/ID is installed (ids are content hashes: the same id is the same bundle)
    if [ -f "$base/releases/$1/.installed" ]; then say yes; else say no; fi ;;
env)  # env ID < env file: staged as edgekit.env.new until `check` passes (a kept release keeps its own)
    cat > "$base/releases/$1/edgekit.env.new"
    chmod 600 "$base/releases/$1/edgekit.env.new" ;;
check)  # check ID: the config's own check and doctor with the staged env, on the board; then the env is the release's
    rel="$base/releases/$1"; cd "$rel"
    trap 'rm -f "$rel/edgekit.env.new"' EXIT
    set -a; . ./edgekit.env.new; set +a; export EDGEKIT_CACHE="$base/cache" EDGEKIT_STATE="$base/state"
    out=$(venv/bin/edgekit config check --no-connect config.yaml 2>&1) \
        || fail "config check failed on the board: $(why "$out" $?)"
    out=$(venv/bin/edgekit doctor --json 2>&1 > doctor.json) \
        || fail "doctor failed on the board: $(why "$out" $?)"
    mv edgekit.env.new edgekit.env; trap - EXIT ;;
activate)  # activate ID MANAGER: remember the running release, switch, restart
    id=$1; mgr=$2
    if [ -L "$base/current" ]; then
        cur=$(basename "$(readlink "$base/current")")
        [ "$cur" = "$id" ] || echo "$cur" > "$base/previous"  # restarting the live release keeps the older one
    else rm -f "$base/previous"; fi
    switch "$id"
    restart "$mgr" ;;
rollback)  # rollback FAILED_ID MANAGER: back to the release that ran before, restart it
    id=$1; mgr=$2
    if [ -s "$base/previous" ] && [ "$(cat "$base/previous")" != "$id" ] && [ -d "$base/releases/$(cat "$base/previous")" ]; then
        switch "$(cat "$base/previous")"
        restart "$mgr"
        say "$(cat "$base/previous")"
    else
        [ "$mgr" = process ] && stop_process
        rm -f "$base/current"; say none
    fi
    rm -rf "$base/releases/$id" ;;
discard)  # discard ID: a release that never went live
    rm -rf "$base/releases/$1" "$base/incoming/$1.tar.gz" ;;
health)  # health PORT TIMEOUT_S PYTHON: wait for /healthz = 200
    "$3" - "$1" "$2" <<'PY'
import sys, time, urllib.request
port, limit = int(sys.argv[1]), float(sys.argv[2])
deadline, last = time.monotonic() + limit, "no answer"
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except urllib.error.HTTPError as e:
        last = f"{e.code} {e.read().decode(errors='replace').strip()}"
    except OSError as e:
        last = str(getattr(e, "reason", e))
    time.sleep(0.5)
sys.exit(f"/healthz not ok after {limit:.0f} s: {last}")
PY
    ;;
current)  # current: the live release id (or none)
    if [ -L "$base/current" ]; then basename "$(readlink "$base/current")"; else say none; fi ;;
prune)  # prune KEEP: keep the newest KEEP releases and whatever current/previous point to
    keep=$1; cur=$(basename "$(readlink "$base/current" 2>/dev/null || echo none)")
    prev=$(cat "$base/previous" 2>/dev/null || echo none)
    ls -1t "$base/releases" | tail -n +"$((keep + 1))" | while read -r r; do
        [ "$r" = "$cur" ] || [ "$r" = "$prev" ] || rm -rf "$base/releases/$r"
    done
    for e in "$base"/envs/*; do  # dependency layers no kept release uses
        [ -d "$e" ] || continue
        cat "$base"/releases/*/layer 2>/dev/null | grep -qx "$(basename "$e")" || rm -rf "$e"
    done ;;
bridge)  # bridge MANAGER: install the live release's Mosquitto bridge (restart does it too)
    bridge "$1" ;;
stop)  # stop MANAGER
    case "$1" in process) stop_process ;; systemd-user) user_manager; systemctl --user stop edgekit ;;
    systemd) sudo -n systemctl stop edgekit ;; esac ;;
*) fail "unknown action $action" ;;
esac
