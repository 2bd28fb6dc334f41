#!/usr/bin/env sh
# Reproduce the shipped audio-to-face model from nothing but the installed voices:
# corpus (~13 min on 2 busy cores) -> training (~20-30 min) -> ONNX export -> evaluation.
# The corpus and checkpoints go to $MERG_A2F_DATA (default /tmp/merg_audio2face);
# the model, its metrics.json and nothing else land in merg_sdk/motion/audio2face/.
set -eu
cd "$(dirname "$0")/../.."
PY="${PYTHON:-.venv/bin/python}"
"$PY" -m training.audio2face.make_corpus
"$PY" -m training.audio2face.train
"$PY" -m training.audio2face.export
"$PY" -m training.audio2face.evaluate
