#!/usr/bin/env bash
# ds01 demo: two users get GPU containers on a simulated GPU server, then everything is removed.
# Offline and idempotent: uses the packaged example config (simulated inventory, three slots)
# and the local base image ds01-base:busybox. Run as root: bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

DEMO_DIR="${DS01_DEMO_DIR:-/tmp/ds01-demo}"
export DS01_CONFIG="$PWD/config/resource-limits.yaml"
export DS01_STATE_DIR="$DEMO_DIR/state"
export DS01_LOG_DIR="$DEMO_DIR/log"
export NO_COLOR=1
DS01="$PWD/.venv/bin/ds01"
IMAGE=ds01-base:busybox
# Two demo users: a student (one MIG slice) and a researcher (whole GPUs allowed).
USERS=("student1:4101" "researcher1:4102")

as_user() {  # as_user NAME UID ds01-args...: run ds01 as if `sudo -u NAME` called it
  local name=$1 uid=$2
  shift 2
  SUDO_USER="$name" SUDO_UID="$uid" SUDO_GID="$uid" "$DS01" "$@"
}

cleanup() {
  for entry in "${USERS[@]}"; do
    as_user "${entry%%:*}" "${entry##*:}" container cleanup --all-stopped --force >/dev/null 2>&1 || true
    for name in demo-notebook demo-train; do
      as_user "${entry%%:*}" "${entry##*:}" container cleanup "$name" --force >/dev/null 2>&1 || true
    done
  done
}

step() {  # a bold header on a terminal, a plain one in a log
  if [ -t 1 ]; then printf '\n\033[1m== %s\033[0m\n' "$*"; else printf '\n== %s\n' "$*"; fi
}

cleanup  # idempotent: a previous run's leftovers go first
mkdir -p "$DEMO_DIR"
for entry in "${USERS[@]}"; do
  name=${entry%%:*} uid=${entry##*:}
  mkdir -p "$DEMO_DIR/home/$name/workspace"
  chown "$uid:$uid" "$DEMO_DIR/home/$name/workspace"
done

step "ds01 limits show student1 / researcher1"
"$DS01" limits show student1
"$DS01" limits show researcher1

step "student1: container create demo-notebook (plan first, then for real)"
as_user student1 4101 container create demo-notebook --image "$IMAGE" \
  -w "$DEMO_DIR/home/student1/workspace" --dry-run
as_user student1 4101 container create demo-notebook --image "$IMAGE" -w "$DEMO_DIR/home/student1/workspace"
as_user student1 4101 container start demo-notebook

step "researcher1: container create demo-train --gpus 2"
as_user researcher1 4102 container create demo-train --image "$IMAGE" \
  -w "$DEMO_DIR/home/researcher1/workspace" --gpus 2
as_user researcher1 4102 container stop demo-train

step "ds01 gpu status"
"$DS01" gpu status

step "ds01 container list --all (as root: every user's)"
"$DS01" container list --all

step "student1: ds01 status"
as_user student1 4101 status

step "clean up the demo containers"
as_user student1 4101 container retire demo-notebook
as_user researcher1 4102 container cleanup demo-train
"$DS01" gpu status
echo
echo "Demo finished. State and logs: $DEMO_DIR (ds01 gpu status and the logs show the history)."
