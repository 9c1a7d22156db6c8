#!/usr/bin/env bash
# Proves the built wheel works on its own: builds it from a clean copy of the sources,
# installs it into a fresh venv in a temporary directory outside the checkout, and from
# there (no checkout, no shared/ reachable) starts `python -m mqlite serve --memory` and
# drives every front-end once with a real client (tests/installed/drive_installed.py).
# Where `unshare` works (root, as on CI), the checkout and any shared/ spec directory
# are also hidden under an empty tmpfs while the broker runs.
#
#   bash scripts/check-installed.sh          # exit 0: the installed package works
#
# Needs python3 with venv and pip, and the package index (or pip's cache) for the
# dependencies. Cleans up its temporary directory. Prints what it does.
set -euo pipefail
# A checkout on PYTHONPATH (src/ with its egg-info) would satisfy the venv's pip install.
unset PYTHONPATH PYTHONHOME PYTHONSTARTUP
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/mqlite-installed.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
case "$WORK/" in "$ROOT"/*) echo "check-installed: temp dir $WORK is inside the checkout" >&2; exit 1 ;; esac
say() { echo "check-installed: $*"; }
started=$SECONDS

# 1. A clean copy of the sources (tracked and new files, not build/ or egg-info
#    leftovers, which could smuggle stale modules into the wheel), then the wheel.
say "copying the sources to $WORK/src"
mkdir -p "$WORK/src" "$WORK/dist" "$WORK/run"
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard \
     | tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$WORK/src"
else
  tar -C "$ROOT" --exclude=build --exclude='*.egg-info' --exclude=.venv -cf - . | tar -xf - -C "$WORK/src"
fi
say "pip wheel --no-deps (build isolation)"
"$PYTHON" -m pip wheel -q --no-deps --disable-pip-version-check -w "$WORK/dist" "$WORK/src"
WHEEL="$(ls "$WORK"/dist/mqlite-*.whl)"
say "built $(basename "$WHEEL")"

# 2. A fresh venv outside the checkout: the wheel with its dependencies, and the
#    client libraries at the test extra's pins.
say "python -m venv $WORK/venv"
"$PYTHON" -m venv "$WORK/venv"
VPY="$WORK/venv/bin/python"
mapfile -t CLIENTS < <("$PYTHON" - "$ROOT/pyproject.toml" <<'EOF'
import re, sys, tomllib
extra = tomllib.load(open(sys.argv[1], "rb"))["project"]["optional-dependencies"]["test"]
for req in extra:
    if re.match(r"(boto3|confluent-kafka|pika|redis)\b", req):
        print(req)
EOF
)
[ "${#CLIENTS[@]}" -eq 4 ] || { echo "check-installed: expected 4 client pins, got: ${CLIENTS[*]}" >&2; exit 1; }
say "pip install $(basename "$WHEEL") ${CLIENTS[*]}"
"$VPY" -m pip install -q --disable-pip-version-check "$WHEEL" "${CLIENTS[@]}"
cp "$ROOT/tests/installed/drive_installed.py" "$WORK/run/"

# 3. Drive it from $WORK/run with a clean environment (no PYTHONPATH, no MQLITE_*).
RUN=(env -i "PATH=$WORK/venv/bin:/usr/local/bin:/usr/bin:/bin" "HOME=$WORK/run" "LANG=C.UTF-8"
     "TMPDIR=$WORK/run" "DRIVE_INSTALLED_CHECKOUT=$ROOT" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
     AWS_DEFAULT_REGION=us-east-1 "$VPY" "$WORK/run/drive_installed.py")
hide=("$ROOT")
for dir in "$ROOT/../shared" "$(dirname "$ROOT")/../shared" /work/shared; do
  [ -d "$dir" ] || continue
  dir="$(cd "$dir" && pwd)"
  [[ " ${hide[*]} " == *" $dir "* ]] || hide+=("$dir")
done
cd "$WORK/run"
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null 2>&1 && unshare --mount true 2>/dev/null; then
  say "hiding ${hide[*]} (empty tmpfs, private mount namespace)"
  mounts=""
  for dir in "${hide[@]}"; do mounts+="mount -t tmpfs -o ro mqlite-hidden '$dir' && "; done
  unshare --mount --propagation private sh -c "${mounts}exec \"\$@\"" sh "${RUN[@]}"
else
  say "unshare unavailable: the checkout stays on disk, but off the path and the cwd"
  "${RUN[@]}"
fi
say "ok in $((SECONDS - started)) s"
