"""Tiny component configs: CPU-fast, same block structure as the real models.

Taken from diffusers' own pipeline tests (`get_dummy_components`), so every version in
range can build them. Names match runner/configs/<name>.json (the full-size configs), so a
workload lists its components once for both weight kinds.
"""

_CLIP_TEXT = {
    "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1, "hidden_size": 32,
    "intermediate_size": 37, "layer_norm_eps": 1e-05, "num_attention_heads": 4,
    "num_hidden_layers": 5, "vocab_size": 1000, "hidden_act": "gelu", "projection_dim": 32,
}

_SD_UNET = {
    "block_out_channels": [32, 64], "layers_per_block": 2, "sample_size": 32,
    "in_channels": 4, "out_channels": 4,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D"],
    "up_block_types": ["CrossAttnUpBlock2D", "UpBlock2D"], "cross_attention_dim": 32,
}

_VAE = {
    "block_out_channels": [32, 64], "in_channels": 3, "out_channels": 3,
    "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D"],
    "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D"], "latent_channels": 4,
}

_IF_UNET = {
    "sample_size": 32, "layers_per_block": 1, "block_out_channels": [32, 64],
    "down_block_types": ["ResnetDownsampleBlock2D", "SimpleCrossAttnDownBlock2D"],
    "mid_block_type": "UNetMidBlock2DSimpleCrossAttn",
    "up_block_types": ["SimpleCrossAttnUpBlock2D", "ResnetUpsampleBlock2D"],
    "in_channels": 3, "out_channels": 6, "cross_attention_dim": 32, "encoder_hid_dim": 32,
    "attention_head_dim": 8, "addition_embed_type": "text", "addition_embed_type_num_heads": 2,
    "cross_attention_norm": "group_norm", "resnet_time_scale_shift": "scale_shift", "act_fn": "gelu",
}


# Flux / SD3 (tests/pipelines/flux, stable_diffusion_3 get_dummy_components): a one-block VAE
# with one group, the transformer at patch size 1.
_DIT_VAE = {
    "sample_size": 32, "in_channels": 3, "out_channels": 3, "block_out_channels": [4], "layers_per_block": 1,
    "norm_num_groups": 1, "use_quant_conv": False, "use_post_quant_conv": False, "shift_factor": 0.0609,
    "scaling_factor": 1.5035,
}
_T5 = {
    "vocab_size": 1000, "d_model": 32, "d_kv": 8, "d_ff": 37, "num_layers": 2, "num_heads": 4,
    "relative_attention_num_buckets": 8, "dropout_rate": 0.0, "feed_forward_proj": "relu",
    "is_encoder_decoder": False, "use_cache": False, "pad_token_id": 0, "eos_token_id": 1,
}


def _diffusers(cls, config):
    return {"library": "diffusers", "class": cls, "config": config}


def _transformers(cls, config_cls, config):
    return {"library": "transformers", "class": cls, "config_class": config_cls, "config": config}


TINY = {
    "sd-unet": _diffusers("UNet2DConditionModel", _SD_UNET),
    "sd-inpaint-unet": _diffusers("UNet2DConditionModel", dict(_SD_UNET, in_channels=9)),
    "sd-vae": _diffusers("AutoencoderKL", dict(_VAE, sample_size=64)),
    "sd-text-encoder": _transformers("CLIPTextModel", "CLIPTextConfig", _CLIP_TEXT),
    # Conditioning embedding (16, 32) downsamples by 2, like the tiny VAE.
    "controlnet-canny": _diffusers("ControlNetModel", {
        "block_out_channels": [32, 64], "layers_per_block": 2, "in_channels": 4,
        "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D"], "cross_attention_dim": 32,
        "conditioning_embedding_out_channels": [16, 32],
    }),
    # projection_class_embeddings_input_dim = 6 time ids x 8 + text_encoder_2 projection 32
    "sdxl-unet": _diffusers("UNet2DConditionModel", {
        "block_out_channels": [32, 64], "layers_per_block": 2, "sample_size": 32,
        "in_channels": 4, "out_channels": 4,
        "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D"],
        "up_block_types": ["CrossAttnUpBlock2D", "UpBlock2D"],
        "attention_head_dim": [2, 4], "use_linear_projection": True,
        "addition_embed_type": "text_time", "addition_time_embed_dim": 8,
        "projection_class_embeddings_input_dim": 80, "cross_attention_dim": 64,
    }),
    "sdxl-vae": _diffusers("AutoencoderKL", dict(_VAE, sample_size=128)),
    "sdxl-text-encoder": _transformers("CLIPTextModel", "CLIPTextConfig", _CLIP_TEXT),
    "sdxl-text-encoder-2": _transformers("CLIPTextModelWithProjection", "CLIPTextConfig", _CLIP_TEXT),
    "if-text-encoder": _transformers("T5EncoderModel", "T5Config", _T5),
    "if-stage1-unet": _diffusers("UNet2DConditionModel", _IF_UNET),
    "if-stage2-unet": _diffusers("UNet2DConditionModel", dict(
        _IF_UNET, layers_per_block=[1, 2], in_channels=6, class_embed_type="timestep",
        mid_block_scale_factor=1.414, time_embedding_act_fn="gelu", time_embedding_dim=32)),
    # Stage 3 (x4 upscaler): StableDiffusionUpscalePipeline's test components; the VAE has
    # three blocks (x4), the UNet sees 4 latent + 3 image channels and a noise-level class.
    "upscaler-unet": _diffusers("UNet2DConditionModel", {
        "block_out_channels": [32, 32, 64], "layers_per_block": 2, "sample_size": 32,
        "in_channels": 7, "out_channels": 4,
        "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
        "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
        "cross_attention_dim": 32, "attention_head_dim": 8, "use_linear_projection": True,
        "only_cross_attention": [True, True, False], "num_class_embeds": 1000,
    }),
    "upscaler-vae": _diffusers("AutoencoderKL", {
        "block_out_channels": [32, 32, 64], "in_channels": 3, "out_channels": 3,
        "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
        "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"],
        "latent_channels": 4, "scaling_factor": 0.08333,
    }),
    "upscaler-text-encoder": _transformers("CLIPTextModel", "CLIPTextConfig", _CLIP_TEXT),
    "flux-transformer": _diffusers("FluxTransformer2DModel", {
        "patch_size": 1, "in_channels": 4, "num_layers": 1, "num_single_layers": 1, "attention_head_dim": 16,
        "num_attention_heads": 2, "joint_attention_dim": 32, "pooled_projection_dim": 32, "axes_dims_rope": [4, 4, 8],
    }),
    "flux-vae": _diffusers("AutoencoderKL", dict(_DIT_VAE, latent_channels=1)),
    "sd3-transformer": _diffusers("SD3Transformer2DModel", {
        "sample_size": 32, "patch_size": 1, "in_channels": 4, "num_layers": 1, "attention_head_dim": 8,
        "num_attention_heads": 4, "caption_projection_dim": 32, "joint_attention_dim": 32,
        "pooled_projection_dim": 64, "out_channels": 4,
    }),
    "sd3-vae": _diffusers("AutoencoderKL", dict(_DIT_VAE, latent_channels=4)),
    "sd3-text-encoder": _transformers("CLIPTextModelWithProjection", "CLIPTextConfig", _CLIP_TEXT),
}
