"""Diffusion math: noise schedules, DDPM/DDIM steps, guidance and negative selection.

Everything here is device-agnostic and knows nothing about the model it drives: a sampler
calls a `Denoiser` (see `denoiser.py`) and never looks inside it.
"""
