"""Speech engines, one module per vendor; each implements `speech.base.TextToSpeech`."""
