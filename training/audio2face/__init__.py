"""Training the audio-to-face network: corpus, training, ONNX export, evaluation.

`training/audio2face/run_all.sh` runs the four steps; see
merg_sdk/motion/audio2face/README.md for the model card.
"""
