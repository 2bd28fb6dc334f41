#!/usr/bin/env bash
# Builds the MERG C# core with Mono and runs its NUnit tests against the real Python server.
#
#   plugins/unity/build.sh          build everything, then run the tests (the default)
#   plugins/unity/build.sh build    build only
#   plugins/unity/build.sh test     same as no argument
#   plugins/unity/build.sh bench    build the core, then run the decode bench (Tools~/bench;
#                                   not run by the tests); extra arguments: a repeat factor
#
# Needs Debian's mono-devel (mcs, mono), nunit-console and libnunit-cil-dev (NUnit 2.6).
# Outputs go to plugins/unity/.build/ (MERG_UNITY_BUILD_DIR), which Unity ignores:
#   Merg.Core.dll (+ .xml docs)  the engine-free core, C# 7.2 (what Unity compiles from Runtime/Core)
#   Merg.Unity.dll, Merg.Editor.dll, Merg.Samples.dll
#                                the Unity-facing code, type-checked against Tools~/unity-stubs
#                                (our own declarations of the Unity API it uses, not Unity)
#   Merg.Core.Tests.dll          the NUnit tests; TestResult.xml; merg-test-server-*.log
# The tests start `$MERG_PYTHON -m merg_sdk.cli serve` (default: the repo's .venv/bin/python);
# MERG_TEST_ENDPOINT=host:port uses a running server instead (the restart test is skipped).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out="${MERG_UNITY_BUILD_DIR:-$here/.build}"
command=${1:-test}

need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "build.sh: '$1' is missing (Debian package: $2)" >&2
    exit 3
  fi
}

nunit_framework() {
  local dll=""
  if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists nunit 2>/dev/null; then
    dll=$(pkg-config --libs nunit | tr ' ' '\n' | sed -n 's/^-r://p' | grep '/nunit.framework.dll$' | head -n1)
  fi
  if [ -z "$dll" ]; then
    dll=$(ls /usr/lib/cli/nunit.framework-*/nunit.framework.dll 2>/dev/null | head -n1 || true)
  fi
  if [ -z "$dll" ] || [ ! -f "$dll" ]; then
    echo "build.sh: nunit.framework.dll not found (Debian package: libnunit-cil-dev)" >&2
    exit 3
  fi
  echo "$dll"
}

# C# 7.2, warnings are errors: the same sources must compile in Unity 2021.3 and here.
CSC=(mcs -langversion:7.2 -debug -warnaserror+ -nowarn:1591)

build() {
  need mcs mono-devel
  local nunit
  nunit=$(nunit_framework)
  mkdir -p "$out"
  local started=$SECONDS

  # the core: no engine references at all
  "${CSC[@]}" -target:library -out:"$out/Merg.Core.dll" -doc:"$out/Merg.Core.xml" \
    -recurse:"$here/Runtime/Core/*.cs"

  # the Unity-facing layers, type-checked against stub declarations of the Unity API
  "${CSC[@]}" -target:library -nowarn:0436 -out:"$out/UnityEngine.Stubs.dll" \
    "$here/Tools~/unity-stubs/UnityEngine.cs"
  "${CSC[@]}" -target:library -out:"$out/UnityEditor.Stubs.dll" -r:"$out/UnityEngine.Stubs.dll" \
    "$here/Tools~/unity-stubs/UnityEditor.cs"
  "${CSC[@]}" -target:library -out:"$out/Merg.Unity.dll" \
    -r:"$out/Merg.Core.dll" -r:"$out/UnityEngine.Stubs.dll" -recurse:"$here/Runtime/Unity/*.cs"
  "${CSC[@]}" -target:library -out:"$out/Merg.Editor.dll" \
    -r:"$out/Merg.Core.dll" -r:"$out/Merg.Unity.dll" -r:"$out/UnityEngine.Stubs.dll" \
    -r:"$out/UnityEditor.Stubs.dll" -recurse:"$here/Editor/*.cs"
  "${CSC[@]}" -target:library -out:"$out/Merg.Samples.dll" \
    -r:"$out/Merg.Core.dll" -r:"$out/Merg.Unity.dll" -r:"$out/UnityEngine.Stubs.dll" \
    -recurse:"$here/Samples~/*.cs"

  # the tests (NUnit 2.6 here; the same files run under Unity's NUnit 3)
  "${CSC[@]}" -target:library -define:MERG_NUNIT2 -out:"$out/Merg.Core.Tests.dll" \
    -r:"$out/Merg.Core.dll" -r:"$nunit" -r:System.Core.dll -recurse:"$here/Tests/*.cs"

  echo "build.sh: built in $((SECONDS - started)) s -> $out"
}

bench() {
  need mcs mono-devel
  need mono mono-devel
  mkdir -p "$out"
  "${CSC[@]}" -target:library -out:"$out/Merg.Core.dll" -doc:"$out/Merg.Core.xml" \
    -recurse:"$here/Runtime/Core/*.cs"
  "${CSC[@]}" -optimize+ -target:exe -out:"$out/Merg.Bench.exe" -r:"$out/Merg.Core.dll" \
    "$here/Tools~/bench/MergBench.cs"
  (cd "$out" && mono --optimize=all "$out/Merg.Bench.exe" "$@")
}

run_tests() {
  need mono mono-devel
  need nunit-console nunit-console
  export MERG_UNITY_PACKAGE="$here"
  export MERG_REPO_ROOT="$repo"
  export MERG_PYTHON="${MERG_PYTHON:-$repo/.venv/bin/python}"
  export MERG_TEST_LOG_DIR="$out"
  export MONO_ENV_OPTIONS="${MONO_ENV_OPTIONS:---debug}"
  local started=$SECONDS status=0
  (cd "$out" && nunit-console "$out/Merg.Core.Tests.dll" -nologo -labels \
    -xml="$out/TestResult.xml") || status=$?
  echo "build.sh: tests ran in $((SECONDS - started)) s (exit $status); results: $out/TestResult.xml"
  return $status
}

case "$command" in
  build) build ;;
  test)
    build
    run_tests
    ;;
  bench)
    shift
    bench "$@"
    ;;
  *)
    echo "usage: $0 [build|test|bench]" >&2
    exit 2
    ;;
esac
