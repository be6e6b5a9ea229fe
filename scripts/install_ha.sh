#!/usr/bin/env bash
# Home Assistant core for tests/delivery/test_home_assistant.py, which checks the daemon's MQTT discovery against a
# real Home Assistant (not only against the project's schema).
#
# - Version: 2024.3.3, the newest homeassistant that PyPI offers for Python 3.11 (later releases need 3.12).
# - Its own venv: Home Assistant pins aiohttp, paho-mqtt 1.x, Pillow and the like, which clash with edgekit's.
# - The tests start `hass --skip-pip` (no installs at run time), so the requirements of what Home Assistant sets up
#   are installed here: the MQTT integration and its dependencies, plus the integrations it always loads (the
#   frontend among them: without it Home Assistant starts in recovery mode and leaves MQTT out). The list comes from
#   the manifests (requirements of the dependency closure of mqtt, camera, sensors, api and bootstrap's defaults).
# - Built once (~4.5 min on 2 busy cores, ~640 MB) in $EDGEKIT_HA_CACHE (default /var/cache/edgekit-ci), keyed by a
#   hash of this recipe; `.venv-ha` in the repository links to it, so a clean clone with the cache takes a second.
#
# Usage: scripts/install_ha.sh [PYTHON]   (default: python3; Home Assistant 2024.3 runs on 3.11 and 3.12)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-python3}
"$PY" -c 'import sys; sys.exit(sys.version_info[:2] not in ((3, 11), (3, 12)))' \
    || { echo "install_ha.sh: Home Assistant 2024.3.3 needs Python 3.11 or 3.12, not $("$PY" -V 2>&1)" >&2; exit 2; }
HA_VERSION=2024.3.3
REQS="securetar==2024.2.1 home-assistant-frontend==20240307.0 Pillow==10.2.0 janus==1.0.0 PyTurboJPEG==1.7.1"
REQS="$REQS psutil-home-assistant==0.0.1 paho-mqtt==1.6.1 ifaddr==0.2.0"
REQS="$REQS SQLAlchemy==2.0.27 fnv-hash-fast==0.5.0 josepy==1.14.0"
CACHE=${EDGEKIT_HA_CACHE:-/var/cache/edgekit-ci}
KEY=$(printf '%s|%s|%s' "$HA_VERSION" "$REQS" "$("$PY" -c 'import sys; print(sys.version_info[:2])')" \
      | sha256sum | cut -c1-12)
OUT=$CACHE/ha-$HA_VERSION-$KEY

SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
if [ ! -f "$OUT/.complete" ]; then
    $SUDO mkdir -p "$CACHE"
    $SUDO rm -rf --one-file-system "$OUT"
    $SUDO "$PY" -m venv "$OUT"
    $SUDO "$OUT/bin/python" -m pip install -q --upgrade pip
    # shellcheck disable=SC2086
    $SUDO "$OUT/bin/python" -m pip install -q "homeassistant==$HA_VERSION" $REQS
    "$OUT/bin/hass" --version | grep -qx "$HA_VERSION"
    $SUDO touch "$OUT/.complete"
fi
if [ "$(readlink .venv-ha 2>/dev/null)" != "$OUT" ]; then
    rm -rf .venv-ha
    ln -s "$OUT" .venv-ha
fi
