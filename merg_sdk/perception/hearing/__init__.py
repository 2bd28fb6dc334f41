"""Hearing: the user's voice in, as words (speech recognition) and as sound (voice activity).

The server streams microphone chunks (16 kHz float32 after resampling) into a
`RecognitionStream`; backends (Whisper on the CPU, NVIDIA Riva over gRPC)
implement `SpeechRecognizer` from base.py.
"""
