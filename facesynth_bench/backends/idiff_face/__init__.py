"""IDiff-Face (Boutros et al., ICCV 2023): a cross-attention UNet over the VQ-f4 latent.

Written from the published description; state dicts load the released checkpoints
(`ema_averaged_model.ckpt`, `first_stage_{encoder,decoder}_state_dict.pt`) unchanged.
"""
