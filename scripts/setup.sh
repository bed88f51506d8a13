#!/usr/bin/env bash
# Set up everything ds01 needs on a fresh Debian machine (run as root; idempotent):
# system packages, a Docker engine, the virtual environment with ds01 installed,
# and the offline base image. Sourced by demo.sh and test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
command -v dockerd >/dev/null 2>&1 || need_pkgs+=(docker.io)
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || need_pkgs+=(busybox-static)
command -v git >/dev/null 2>&1 || need_pkgs+=(git)
command -v git-lfs >/dev/null 2>&1 || need_pkgs+=(git-lfs)
command -v ssh-keygen >/dev/null 2>&1 || need_pkgs+=(openssh-client)
command -v sudo >/dev/null 2>&1 || need_pkgs+=(sudo)  # secure mode: its end-to-end test installs a sudoers rule
command -v systemd-analyze >/dev/null 2>&1 || need_pkgs+=(systemd)  # verifies etc-mirrors/systemd units (no running systemd needed)
command -v promtool >/dev/null 2>&1 || need_pkgs+=(prometheus)  # `promtool check metrics` verifies `monitor metrics`
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_pkgs+=(python3-venv)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing ${need_pkgs[*]}; run as root or install them." >&2
    exit 1
  fi
  echo "setup: installing ${need_pkgs[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if ! .venv/bin/python -c 'import ds01, pytest, pexpect, pytest_timeout, mypy' >/dev/null 2>&1 \
   || [ ! -x .venv/bin/ruff ] \
   || [ pyproject.toml -nt .venv/.ds01-installed ]; then
  echo "setup: installing ds01 into .venv" >&2
  .venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
  touch .venv/.ds01-installed
fi

# A real Docker engine and the offline busybox base image.
.venv/bin/python dev/engine.py >/dev/null
