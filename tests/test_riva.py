"""Riva speech backends against a real Riva gRPC server on loopback (tests/riva_test_server.py).

The server speaks with Piper and listens with Whisper tiny.en, so audio and
transcripts are real; TLS uses certificates made here; failure modes are the
server's own (refused, never answering, slow, failing).
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import math
import re
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soxr

pytest.importorskip("riva.client", reason="the Riva backends need nvidia-riva-client")

from merg_sdk.client import AudioChunk, FaceFrames, MergClient, TurnEnded
from merg_sdk.perception.hearing.base import SAMPLE_RATE, RecognitionError
from merg_sdk.perception.hearing.riva import RivaASRSettings, RivaRecognizer
from merg_sdk.server import ServerConfig, ServerThread
from merg_sdk.speech.backends import TTSConfig, create_tts
from merg_sdk.speech.backends.piper import PiperTTS
from merg_sdk.speech.backends.riva import RivaTTS, RivaTTSSettings, to_ssml
from merg_sdk.speech.base import Prosody
from merg_sdk.speech.prosody import prosody_for
from merg_sdk.speech.riva_config import RivaConnection, RivaError, RivaErrorCode
from tests.riva_test_server import VOICE_NAME, RivaTestServer, ServerTLS

SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank."


@pytest.fixture(scope="module")
def riva(tts: PiperTTS) -> Iterator[RivaTestServer]:
    with RivaTestServer(tts) as server:
        yield server


@pytest.fixture(autouse=True)
def _normal(riva: RivaTestServer) -> Iterator[None]:
    riva.mode, riva.behaviour.delay_s = "normal", 3.0
    yield
    riva.mode = "normal"


def riva_tts(uri: str, **settings) -> RivaTTS:
    connection = settings.pop("connection", {})
    return RivaTTS(RivaTTSSettings(connection=RivaConnection(uri=uri, **connection), **settings))


def words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


# --- SSML -----------------------------------------------------------------------------------


def test_ssml_escapes_text_and_clamps_prosody_to_rivas_ranges() -> None:
    ssml = to_ssml('Tom & "Jerry" <3 \x07 it', Prosody(rate=3.0, volume=0.0001), pitch=1.5)
    root = ET.fromstring(ssml)  # well-formed whatever the text
    prosody = root.find("prosody")
    assert prosody is not None and prosody.text == 'Tom & "Jerry" <3   it'
    assert prosody.attrib == {"rate": "250%", "pitch": "+1.50", "volume": "-13.0dB"}
    assert to_ssml("Hello.", Prosody()) == "<speak>Hello.</speak>"
    sad = ET.fromstring(to_ssml("Oh.", Prosody(rate=0.85, volume=0.8))).find("prosody")
    assert sad is not None and sad.attrib == {"rate": "85%", "volume": "-1.9dB"}


def test_the_reply_emotion_sets_rate_pitch_and_volume_in_the_request(
    riva: RivaTestServer,
) -> None:
    engine = riva_tts(riva.uri, pitch=0.25)
    engine.synthesize(SENTENCE, engine.default_voice, prosody_for("sad", 1.0))
    sad = ET.fromstring(riva.behaviour.synth_requests[-1].text).find("prosody")
    engine.synthesize(SENTENCE, engine.default_voice, prosody_for("surprised", 0.5))
    surprised = ET.fromstring(riva.behaviour.synth_requests[-1].text).find("prosody")
    assert sad is not None and surprised is not None
    assert float(sad.attrib["pitch"]) < 0 < float(surprised.attrib["pitch"])
    assert float(sad.attrib["pitch"]) == pytest.approx(0.25 + prosody_for("sad", 1.0).pitch)
    assert int(sad.attrib["rate"].rstrip("%")) < 100 < int(surprised.attrib["rate"].rstrip("%"))
    assert sad.attrib["volume"].startswith("-")


# --- synthesis --------------------------------------------------------------------------------


def test_voices_come_from_the_server_or_else_from_settings(riva: RivaTestServer) -> None:
    assert riva_tts(riva.uri).voices == (f"{VOICE_NAME}.Joe",)
    assert riva_tts(riva.uri, list_voices=False, voices=("A", "B")).voices == ("A", "B")
    riva.mode = "fail"
    fallback = riva_tts(riva.uri, voices=("English-US.Female-1",))
    assert fallback.voices == ("English-US.Female-1",)
    assert fallback.default_voice == "English-US.Female-1"


def test_synthesis_streams_audio_at_the_requested_rate(riva: RivaTestServer, tts: PiperTTS) -> None:
    engine = riva_tts(riva.uri, sample_rate_hz=24000)
    clause = engine.synthesize(SENTENCE, engine.default_voice, Prosody())
    direct = tts.synthesize(SENTENCE, tts.default_voice, Prosody())
    assert clause.sample_rate == 24000 and clause.phonemes == ()
    assert clause.audio.dtype == np.float32 and np.abs(clause.audio).max() > 0.1
    seconds = len(clause.audio) / clause.sample_rate
    # Piper's durations are stochastic (VITS noise): a few % per call
    assert seconds == pytest.approx(len(direct.audio) / direct.sample_rate, rel=0.12)
    request = riva.behaviour.synth_requests[-1]
    assert request.sample_rate_hz == 24000 and request.voice_name == f"{VOICE_NAME}.Joe"
    chunks = list(engine.synthesize_stream("Hello there.", engine.default_voice, Prosody()))
    assert len(chunks) > 1  # streamed in pieces, not one blob


def test_ssml_rate_changes_the_duration(riva: RivaTestServer, tts: PiperTTS) -> None:
    engine = riva_tts(riva.uri)
    slow = engine.synthesize(SENTENCE, engine.default_voice, Prosody(rate=0.7))
    fast = engine.synthesize(SENTENCE, engine.default_voice, Prosody(rate=1.4))
    assert len(slow.audio) / len(fast.audio) > 1.4
    direct = tts.synthesize(SENTENCE, tts.default_voice, Prosody(rate=0.7))
    # 70% reached Piper; its durations are stochastic (VITS noise), a few % per call
    assert len(slow.audio) == pytest.approx(len(direct.audio), rel=0.12)
    assert 'rate="70%"' in riva.behaviour.synth_requests[-2].text


def test_create_tts_selects_the_backend(riva: RivaTestServer) -> None:
    assert create_tts().name == "piper"
    config = TTSConfig.model_validate(
        {"backend": "riva", "riva": {"connection": {"uri": riva.uri}}}
    )
    engine = create_tts(config)
    assert isinstance(engine, RivaTTS) and engine.voices == (f"{VOICE_NAME}.Joe",)


# --- security ---------------------------------------------------------------------------------


def _self_signed(tmp: Path, name: str) -> tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1, signed by its own key."""
    pytest.importorskip("cryptography", reason="certificates are made with cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    alt_names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / f"{name}.crt", tmp / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_tls_and_mutual_tls_with_self_signed_certificates(tmp_path: Path, tts: PiperTTS) -> None:
    server_cert, server_key = _self_signed(tmp_path, "riva-server")
    client_cert, client_key = _self_signed(tmp_path, "merg-client")
    tls = ServerTLS(server_key.read_bytes(), server_cert.read_bytes())
    with RivaTestServer(tts, tls=tls) as server:
        trusted = riva_tts(server.uri, connection={"ssl_root_cert": server_cert})
        clause = trusted.synthesize("Secure hello.", trusted.default_voice, Prosody())
        assert len(clause.audio) > 0.3 * clause.sample_rate
        with pytest.raises(RivaError) as untrusted:  # the system roots do not know this CA
            riva_tts(server.uri, connection={"use_ssl": True}).synthesize("Hi.", "x", Prosody())
        assert untrusted.value.code is RivaErrorCode.UNAVAILABLE
        plain = riva_tts(server.uri)  # plaintext to a TLS port
        with pytest.raises(RivaError):
            plain.synthesize("Hi.", plain.default_voice, Prosody())

    mutual = ServerTLS(server_key.read_bytes(), server_cert.read_bytes(), client_cert.read_bytes())
    with RivaTestServer(tts, tls=mutual) as server:
        paths = {"ssl_client_cert": client_cert, "ssl_client_key": client_key}
        engine = riva_tts(server.uri, connection={"ssl_root_cert": server_cert, **paths})
        assert len(engine.synthesize("Mutual.", engine.default_voice, Prosody()).audio) > 0
        anonymous = riva_tts(server.uri, connection={"ssl_root_cert": server_cert})
        with pytest.raises(RivaError):
            anonymous.synthesize("Hi.", anonymous.default_voice, Prosody())


def test_api_key_and_metadata_are_sent_and_a_wrong_key_is_refused(tts: PiperTTS) -> None:
    with RivaTestServer(tts, api_key="s3cret") as server:
        connection = {"api_key": "s3cret", "metadata": (("function-id", "abc"),)}
        engine = riva_tts(server.uri, connection=connection)
        engine.synthesize("Hello.", engine.default_voice, Prosody())
        seen = server.behaviour.metadata[-1]
        assert seen["authorization"] == "Bearer s3cret" and seen["function-id"] == "abc"
        wrong = riva_tts(server.uri, voices=("v",), connection={"api_key": "nope"})
        with pytest.raises(RivaError) as refused:
            wrong.synthesize("Hello.", "v", Prosody())
        assert refused.value.code is RivaErrorCode.UNAUTHENTICATED
        assert "nope" not in str(refused.value)
    with pytest.raises(ValueError, match="clear text"):
        RivaConnection(uri="riva.example.com:50051", api_key="k")
    with pytest.raises(ValueError, match="both"):
        RivaConnection(ssl_client_cert=Path("c.pem"))
    assert RivaConnection(uri="riva.example.com:443", api_key="k", use_ssl=True).tls


# --- failures -----------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_down_endpoint_fails_fast_with_a_clear_error() -> None:
    uri = f"127.0.0.1:{_closed_port()}"
    engine = riva_tts(uri, voices=("v",))
    started = time.perf_counter()
    with pytest.raises(RivaError) as down:
        engine.synthesize("Hello.", "v", Prosody())
    assert down.value.code is RivaErrorCode.UNAVAILABLE and uri in str(down.value)
    recognizer = RivaRecognizer(RivaASRSettings(connection=RivaConnection(uri=uri)))
    with pytest.raises(RecognitionError):
        recognizer.open_stream()
    assert time.perf_counter() - started < 1.0


@contextlib.contextmanager
def _silent_server() -> Iterator[str]:
    """Accepts TCP connections and never says a word (a hung process, a wrong port)."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                held.append(listener.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        for connection in held:  # reset: gRPC stops waiting for its handshake at once
            connection.close()
        listener.close()


def test_a_server_that_never_answers_fails_within_the_connect_timeout() -> None:
    with _silent_server() as uri:
        engine = riva_tts(uri, voices=("v",), connection={"connect_timeout_s": 0.5})
        started = time.perf_counter()
        with pytest.raises(RivaError) as hung:
            engine.synthesize("Hello.", "v", Prosody())
        elapsed = time.perf_counter() - started
    engine.close()
    assert hung.value.code is RivaErrorCode.UNAVAILABLE
    assert 0.4 < elapsed < 2.0


def test_slow_and_failing_servers_give_coded_errors_and_the_backend_recovers(
    riva: RivaTestServer,
) -> None:
    engine = riva_tts(riva.uri, first_audio_timeout_s=0.5)
    voice = engine.default_voice
    riva.mode = "slow"
    started = time.perf_counter()
    with pytest.raises(RivaError) as slow:
        engine.synthesize("Hello.", voice, Prosody())
    assert slow.value.code is RivaErrorCode.TIMEOUT
    assert time.perf_counter() - started < 1.5
    riva.mode = "fail"
    with pytest.raises(RivaError) as failed:
        engine.synthesize("Hello.", voice, Prosody())
    assert failed.value.code is RivaErrorCode.SERVER_ERROR
    riva.mode = "normal"
    assert len(engine.synthesize("Hello again.", voice, Prosody()).audio) > 0
    with pytest.raises(RivaError) as unknown:
        engine.synthesize("Hello.", "No.Such-Voice", Prosody())
    assert unknown.value.code is RivaErrorCode.BAD_REQUEST


# --- recognition ----------------------------------------------------------------------------


def _speech_16k(tts: PiperTTS, text: str) -> np.ndarray:
    clause = tts.synthesize(text, tts.default_voice, Prosody())
    audio = soxr.resample(clause.audio, clause.sample_rate, SAMPLE_RATE)
    return np.concatenate([audio, np.zeros(SAMPLE_RATE // 4, np.float32)]).astype(np.float32)


def test_recognizer_streams_partials_then_the_final_transcript(
    riva: RivaTestServer, tts: PiperTTS
) -> None:
    recognizer = RivaRecognizer(RivaASRSettings(connection=RivaConnection(uri=riva.uri)))
    recognizer.warm_up()
    audio = _speech_16k(tts, SENTENCE)
    stream = recognizer.open_stream()
    partials = []
    step = SAMPLE_RATE // 10
    for start in range(0, len(audio), step):  # 100 ms pieces at twice real time
        partials += stream.feed(audio[start : start + step])
        time.sleep(0.05)
    final = stream.finish()
    stream.close()
    stream.close()  # safe twice
    assert partials and all(not p.final for p in partials)
    assert set(words(partials[-1].text)) & {"quick", "brown", "fox", "jumps"}
    assert final.final and final.audio_s == pytest.approx(len(audio) / SAMPLE_RATE)
    assert words(final.text)[:4] == ["the", "quick", "brown", "fox"]
    assert final.confidence is not None and 0 < final.confidence <= 1
    config = riva.behaviour.asr_configs[-1]
    assert config.interim_results and config.config.sample_rate_hertz == SAMPLE_RATE
    with pytest.raises(RecognitionError):
        stream.feed(audio[:step])


def test_recognizer_times_out_fails_and_recovers(riva: RivaTestServer, tts: PiperTTS) -> None:
    settings = RivaASRSettings(connection=RivaConnection(uri=riva.uri), finish_timeout_s=0.5)
    recognizer = RivaRecognizer(settings)
    audio = _speech_16k(tts, "Hello there.")
    riva.mode = "slow"
    stream = recognizer.open_stream()
    stream.feed(audio)
    started = time.perf_counter()
    with pytest.raises(RecognitionError) as slow:
        stream.finish()
    assert slow.value.code is RivaErrorCode.TIMEOUT and time.perf_counter() - started < 1.5
    riva.mode = "fail"
    stream = recognizer.open_stream()
    with pytest.raises(RecognitionError) as failed:
        stream.feed(audio)
        stream.finish()
    assert failed.value.code is RivaErrorCode.SERVER_ERROR
    stream.close()
    riva.mode = "normal"
    patient = RivaRecognizer(RivaASRSettings(connection=RivaConnection(uri=riva.uri)))
    stream = patient.open_stream()
    stream.feed(audio)
    assert "hello" in words(stream.finish().text)


# --- a whole server turn --------------------------------------------------------------------


def _say_only_config() -> ServerConfig:
    options: dict = {"port": 0, "empathy": {"enabled": False}}
    if "hearing" in ServerConfig.model_fields:
        options["hearing"] = {"enabled": False}
    return ServerConfig.model_validate(options)


def test_say_with_riva_streams_audio_and_a_face_that_follows_it(riva: RivaTestServer) -> None:
    engine = riva_tts(riva.uri)
    with (
        ServerThread(_say_only_config(), tts=engine) as server,
        MergClient(server.endpoint, timeout_s=30) as client,
    ):
        assert client.welcome.capabilities["voices"] == [f"{VOICE_NAME}.Joe"]
        assert client.welcome.server["tts"] == "riva"
        session = client.open_session(rig="arkit52", fps=60, sample_rate=22050)
        events = list(session.say("Hello there, my friend. Maybe we should buy a map!"))
        ended = events[-1]
        assert isinstance(ended, TurnEnded) and ended.reason == "done"
        audio = [e for e in events if isinstance(e, AudioChunk)]
        faces = [e for e in events if isinstance(e, FaceFrames)]
        pcm = np.concatenate([a.pcm for a in audio])
        frame = 0
        for block in faces:
            assert block.f0 == frame
            frame += len(block.weights)
        assert frame == math.ceil(len(pcm) * 60 / 22050)
        # a `say` knows its last clause, so the turn's last frames precede its last audio
        last_audio = max(i for i, e in enumerate(events) if isinstance(e, AudioChunk))
        assert all(i < last_audio for i, e in enumerate(events) if isinstance(e, FaceFrames))

        weights = np.concatenate([f.weights for f in faces])
        jaw = weights[:, list(session.names).index("jawOpen")]
        hop = 22050 // 60
        loudness = np.array(
            [np.sqrt(np.mean((pcm[i * hop : (i + 1) * hop] / 32768.0) ** 2)) for i in range(frame)]
        )
        assert jaw.max() > 0.2 and jaw.std() > 0.05  # the mouth moves
        assert np.corrcoef(jaw, loudness)[0, 1] > 0.3  # and moves with the voice
        print(f"riva say: first audio {ended.stats.get('first_audio_ms')} ms")

        riva.mode = "fail"  # a failing Riva costs the turn, not the session
        failed = list(session.say("This will not be spoken."))
        assert isinstance(failed[-1], TurnEnded) and failed[-1].reason == "error"
        assert not [e for e in failed if isinstance(e, AudioChunk)]
        assert client.next_error(timeout_s=5).code == "upstream_failed"  # not `internal`
        riva.mode = "normal"
        again = session.say("Back again.").collect()
        assert again.reason == "done"
        visemes = client.open_session(rig="visemes", fps=30, sample_rate=16000)
        result = visemes.say("Open wide.").collect()
        assert result.reason == "done"
