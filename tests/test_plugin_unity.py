"""The Unity plugin (plugins/unity): its C# core built with Mono and tested with NUnit
against the real server, plus the package's own consistency checks.

The NUnit run starts its own `python -m merg_sdk.cli serve` (this interpreter, through
MERG_PYTHON), restarts it once for the reconnect test, and stops it at the end.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "plugins" / "unity"
APT_PACKAGES = "mono-devel nunit-console libnunit-cil-dev"


def _missing_tools() -> list[str]:
    missing = [tool for tool in ("mcs", "mono", "nunit-console") if shutil.which(tool) is None]
    if not list(Path("/usr/lib/cli").glob("nunit.framework-*/nunit.framework.dll")):
        missing.append("nunit.framework.dll")
    return missing


MISSING = _missing_tools()


def _tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


SKIP_REASON = f"Mono/NUnit missing ({', '.join(MISSING)}): apt-get install {APT_PACKAGES}"


@pytest.mark.skipif(bool(MISSING), reason=SKIP_REASON)
@pytest.mark.timeout(600)
def test_csharp_core_builds_and_passes_its_nunit_tests(tmp_path: Path) -> None:
    build = tmp_path / "build"
    env = dict(os.environ, MERG_PYTHON=sys.executable, MERG_UNITY_BUILD_DIR=str(build))
    env.pop("MERG_TEST_ENDPOINT", None)  # the run must start (and restart) its own server
    result = subprocess.run(
        ["bash", str(PACKAGE / "build.sh"), "test"],
        capture_output=True,
        text=True,
        timeout=540,
        env=env,
        cwd=ROOT,
    )
    output = result.stdout + result.stderr
    report = build / "TestResult.xml"
    assert report.is_file(), f"no NUnit results (exit {result.returncode}):\n{_tail(output)}"
    summary = ET.parse(report).getroot()
    cases = list(summary.iter("test-case"))
    failed = [
        f"{case.get('name')}: {''.join(case.itertext()).strip()[:400]}"
        for case in cases
        if case.get("executed") == "True" and case.get("success") != "True"
    ]
    not_run = [case.get("name") for case in cases if case.get("executed") != "True"]
    assert not failed, "NUnit failures:\n" + "\n".join(failed) + "\n" + _tail(output, 30)
    assert not not_run, f"tests that did not run (ignored or skipped): {not_run}"
    assert int(summary.get("errors", "1")) == 0 and int(summary.get("failures", "1")) == 0
    assert result.returncode == 0, _tail(output)
    names = {case.get("name") for case in cases}
    for needed in (
        "Merg.Tests.ZmtpTransportTests.HandshakesWithTheServersLibzmqRouter",
        "Merg.Tests.VectorTests.ClientMessagesEncodeToThePythonBytes",
        "Merg.Tests.ClientServerTests.ASayTurnStreamsContiguousAudioAndFaceOnOneTimeline",
        "Merg.Tests.ClientServerTests.InterruptEndsTheTurnAndStopsPlaybackAtOnce",
        "Merg.Tests.ClientServerTests.ErrorsCarryTheServersStableCodes",
        "Merg.Tests.ClientServerTests.AUserTextTurnAnswersWithAffectAndReplies",
        "Merg.Tests.ReconnectTests.ReconnectsAfterAServerRestartAndReopensTheSession",
        "Merg.Tests.SpeechBufferTests.TheHotPathAllocatesNothing",
    ):
        assert needed in names, f"{needed} did not run"
    assert len(cases) >= 120


def test_shared_vectors_match_the_python_codec() -> None:
    result = subprocess.run(
        [sys.executable, str(PACKAGE / "Tests" / "vectors" / "make_vectors.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_package_asset_has_a_unity_meta_file() -> None:
    result = subprocess.run(
        [sys.executable, str(PACKAGE / "Tools~" / "make_meta.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_package_manifest_and_assemblies() -> None:
    manifest = json.loads((PACKAGE / "package.json").read_text())
    assert manifest["name"] == "com.merg.sdk"
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])
    assert manifest["unity"] == "2021.3"
    for sample in manifest["samples"]:
        assert (PACKAGE / sample["path"]).is_dir(), sample
    assemblies = {
        json.loads(path.read_text())["name"]: json.loads(path.read_text())
        for path in PACKAGE.rglob("*.asmdef")
    }
    assert assemblies["Merg.Core"]["noEngineReferences"] is True
    assert assemblies["Merg.Core"]["references"] == []
    assert assemblies["Merg.Unity"]["references"] == ["Merg.Core"]
    assert assemblies["Merg.Editor"]["includePlatforms"] == ["Editor"]
    assert assemblies["Merg.NetMQ"]["defineConstraints"] == ["MERG_NETMQ"]
    assert "UNITY_INCLUDE_TESTS" in assemblies["Merg.Core.Tests"]["defineConstraints"]


def test_the_core_has_no_engine_references() -> None:
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in (PACKAGE / "Runtime" / "Core").rglob("*.cs")
        if re.search(r"\bUnity(Engine|Editor)\b", path.read_text())
    ]
    assert not offenders


def test_the_sample_head_is_the_reference_head() -> None:
    sample = PACKAGE / "Samples~" / "ReferenceHead" / "reference_head.glb"
    original = ROOT / "blendshapes" / "head" / "reference_head.glb"
    assert sample.read_bytes() == original.read_bytes()
