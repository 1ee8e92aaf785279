"""facesynth-bench: generate, score and benchmark synthetic identity-labelled face datasets."""

__version__ = "0.1.0"
