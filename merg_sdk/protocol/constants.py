"""Protocol constants shared by the server, the clients and the engine cores."""

PROTOCOL_VERSION = 1
DEFAULT_PORT = 5555
DEFAULT_HOST = "127.0.0.1"

SUPPORTED_FPS = (30, 60, 120)
SUPPORTED_SAMPLE_RATES_HZ = (16000, 22050, 24000, 44100, 48000)

TURN_SOURCES = ("user.text", "user.audio", "say", "animate")
TURN_END_REASONS = ("done", "interrupted", "error")
