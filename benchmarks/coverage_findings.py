"""Why the types the coverage sweep does not count whole are not counted:
found by reading transformers 5.24's code, each with where it shows.

Findings are data for the report, not code paths: modelprof never looks
them up. A type listed here is still swept; the table prints the sweep's own
result beside the finding, and a finding whose type now counts whole is
reported as stale.

Kinds:
- ``config``: transformers' own default config is inconsistent, so the model
  refuses any input (overriding one field makes it run, whole).
- ``bug``: a transformers bug.
- ``no forward``: the class has no forward to count (only generate / encode).
- ``unreachable``: modules no single forward reaches (generation-only,
  training-only, an alternative route the config picks, never called).
- ``library``: the forward needs an optional library not installed here.
- ``session``: the forward is one streaming step over a session object.
- ``weights``: how much work a forward does depends on trained weights.
- ``inputs``: the inputs cannot be told from the config (give them with --input).
- ``modelprof``: a limit of modelprof itself, not of the model.
"""

from __future__ import annotations

WIDTH = "the {tower} features are {out:,} wide, the text model embeds {text:,} ({where})"
ROPE = "mrope_section [8, 12, 12] sums to 32 rotary frequencies; the text config's head_dim and partial_rotary_factor give {freqs} ({where})"

FINDINGS: dict[str, tuple[str, str]] = {
    # --- inconsistent default configs --------------------------------------
    "gemma3": ("config", "a 224/16 = 14-patch grid pooled to mm_tokens_per_image 256 (16 a side): the pooling kernel is 14 // 16 = 0 (modeling_gemma3.py:647-650)"),
    "got_ocr2": ("config", "image_seq_length 576 (configuration_got_ocr2.py:121), but the projector's two stride-2 convolutions make 256 features (modeling_got_ocr2.py:467-472), as the processor counts (processing_got_ocr2.py:129)"),
    "ovis2": ("config", "hidden_size 1536 sizes the visual embedding table (configuration_ovis2.py:89, modeling_ovis2.py:453); the Qwen2 text model is 4,096 wide"),
    "modernvbert": ("config", "SigLIP at 224/16 gives 14 patches a side, which pixel_shuffle_factor 4 cannot fold (modeling_modernvbert.py:89-106); its position table is fixed at 196 (modeling_siglip.py:184)"),
    "ultravbert": ("config", "as modernvbert: 14 patches a side, pixel_shuffle_factor 4"),
    "llama4": ("config", "vision hidden_size 768, intermediate_size 5632 and vision_output_dim 7680 disagree with what the projector expects (configuration_llama4.py:56-62, modeling_llama4.py:672, 688); made consistent, it then reads outputs.image_outputs, which MoeCausalLMOutputWithPast lacks (modeling_llama4.py:1318)"),
    "lw_detr": ("config", "projector_scale_factors () (configuration_lw_detr.py:174) leaves no feature level, and torch.cat gets nothing (modeling_lw_detr.py:1380)"),
    "pp_ocrv6_small_det": ("config", "the neck expects four maps of (12, 18, 42, 360) channels; the default backbone outputs stage4 alone, 384 channels (configuration_pp_ocrv6_small_det.py:72-81, modeling_pp_ocrv6_small_det.py:217)"),
    "uvdoc": ("config", "the head concatenates 6 x 128 channels (modeling_uvdoc.py:336-339); the backbone's default out_features is ['stage6'] (configuration_uvdoc.py:105-107)"),
    "qwen3_asr": ("config", "audio output_dim 3584 (configuration_qwen3_asr.py:65), text hidden_size 2048 (:105)"),
    "qwen3_omni_moe_thinker": ("config", "audio output_dim and vision out_hidden_size 3584 against text hidden_size 2048, which its 28 heads do not divide (configuration_qwen3_omni_moe.py:68, 100, 160-163)"),
    "granite_speech": ("config", "the Q-Former projector's encoder_hidden_size 1408 (Blip2QFormerConfig's default) against the encoder's hidden_dim 1024 (configuration_granite_speech.py:65, 116)"),
    "granite_speech_plus": ("config", "as granite_speech: projector encoder_hidden_size 1408, encoder hidden_dim 1024"),
    "voxtral": ("config", "audio_token_id None (configuration_voxtral.py:116; the processor uses 24): the placeholder test compares ids with None (modeling_voxtral.py:421-424)"),
    "minicpm_ocr": ("config", "image_token_id None: the model runs its vision tower only when it is set (modeling_minicpmv4_7.py:713)"),
    "minicpmv4_6": ("config", "image_token_id None: the vision tower never runs (modeling_minicpmv4_7.py:713)"),
    "minicpmv4_7": ("config", "image_token_id None: the vision tower never runs (modeling_minicpmv4_7.py:713)"),
    "qwen2_vl": ("config", WIDTH.format(tower="vision merger's", out=3584, text=8192, where="modeling_qwen2_vl.py:1058")),
    "qwen2_5_vl": ("config", WIDTH.format(tower="vision merger's", out=3584, text=8192, where="out_hidden_size")),
    "qwen3_vl": ("config", WIDTH.format(tower="vision", out=3584, text=4096, where="out_hidden_size")),
    "qwen3_vl_moe": ("config", WIDTH.format(tower="vision", out=3584, text=2048, where="out_hidden_size")),
    "qwen3_5": ("config", WIDTH.format(tower="vision", out=3584, text=4096, where="out_hidden_size")),
    "qwen3_5_moe": ("config", WIDTH.format(tower="vision", out=3584, text=2048, where="out_hidden_size")),
    "cosmos3_omni": ("config", WIDTH.format(tower="vision", out=3584, text=4096, where="out_hidden_size")),
    "exaone4_5": ("config", WIDTH.format(tower="vision", out=3584, text=4096, where="out_hidden_size")),
    "glm_ocr": ("config", WIDTH.format(tower="vision", out=1536, text=1024, where="out_hidden_size")),
    "glm5_next": ("config", WIDTH.format(tower="vision", out=1536, text=4096, where="out_hidden_size") + "; made consistent, its indexer selects pools by a mask packed into the key tensor (modeling_glm5_next.py:840, 1009), which fake tensors cannot know"),
    "blip-2": ("config", "image_token_index None (configuration_blip_2.py:159): the placeholder mask compares the ids with None (modeling_blip_2.py:1145, called at 1229)"),
    "instructblip": ("config", "image_token_index None (configuration_instructblip.py:155), compared with the ids at modeling_instructblip.py:913"),
    "instructblipvideo": ("config", "video_token_index None (configuration_instructblipvideo.py:161), compared with the ids at modeling_instructblipvideo.py:982"),
    "janus": ("config", WIDTH.format(tower="aligner's", out=2048, text=4096, where="configuration_janus.py:53, 130; modeling_janus.py:981")),
    "molmo2": ("config", WIDTH.format(tower="adapter's", out=3584, text=4096, where="configuration_molmo2.py:96, 134; modeling_molmo2.py:798")),
    "t5gemma2": ("config", "a 224/16 = 14-patch grid pooled to mm_tokens_per_image 256 (16 a side): the pooling kernel is 14 // 16 = 0 (configuration_t5gemma2.py:189, modeling_t5gemma2.py:586-589)"),
    "deepseek_v2": ("config", "num_experts_per_tok None: the router's topk reads it (modeling_deepseek_v2.py:102); modelprof names the null field"),
    "step3p7": ("config", "the text model always builds a sliding-window mask (modeling_step3p7.py:897) but the default sliding_window is None (configuration_step3p7.py:170); with sliding_window 512 it counts whole"),
    "glm4v": ("config", ROPE.format(freqs=64, where="modeling_glm4v.py:449, 489")),
    "glm46v": ("config", ROPE.format(freqs=64, where="Glm4vText, modeling_glm4v.py:489")),
    "glmga": ("config", ROPE.format(freqs=64, where="Glm4vText, modeling_glm4v.py:489")),
    "glm4v_text": ("config", ROPE.format(freqs=64, where="modeling_glm4v.py:489")),
    "glm_image_text": ("config", ROPE.format(freqs=64, where="modeling_glm_image.py:73, 113")),
    "glm_image": ("config", ROPE.format(freqs=64, where="modeling_glm_image.py:113")),
    "glm4v_moe": ("config", ROPE.format(freqs=11, where="head_dim 4096/96 = 42 x 0.5: modeling_glm4v_moe.py:76, 116")),
    "glm4v_moe_text": ("config", ROPE.format(freqs=11, where="modeling_glm4v_moe.py:76, 116")),
    # --- transformers bugs and classes without a forward -------------------
    "nllb-moe": ("bug", "NllbMoeExperts one-hot-encodes the 0/1 routing mask instead of expert indices (modeling_nllb_moe.py:353), so experts 0 and 1 run every token and no other expert runs"),
    "glm_image_vqmodel": ("no forward", "GlmImageVQVAE defines encode() and no forward (modeling_glm_image.py:580)"),
    "bark": ("no forward", "BarkModel has no forward, only generate (modeling_bark.py:1254); its semantic, coarse and fine sub-models count on their own"),
    # --- modules no forward reaches ----------------------------------------
    "wav2vec2-conformer": ("unreachable", "pos_conv_embed is built (modeling_wav2vec2_conformer.py:678) but the encoder's forward never calls it"),
    "xcodec": ("unreachable", "decoder_semantic is built (modeling_xcodec.py:454) but no method calls it"),
    "csm": ("unreachable", "the depth decoder runs in forward only with labels (modeling_csm.py:1027); at inference it runs per frame inside generate"),
    "seamless_m4t": ("unreachable", "a forward runs the speech encoder or the text encoder (modeling_seamless_m4t.py ~3475-3500); t2u_model and the vocoder run only in generate"),
    "seamless_m4t_v2": ("unreachable", "as seamless_m4t: text encoder or speech encoder per forward; t2u_model and vocoder only in generate"),
    "vibevoice": ("unreachable", "the acoustic decoder, semantic tokenizer and diffusion head run only in generation or in the diffusion loss (needs labels)"),
    "phi4_multimodal": ("unreachable", "with an image, speech goes through the vision-speech projection, so up_proj_for_speech / down_proj_for_speech stay idle; without one the vision tower does"),
    "granite_docling": ("unreachable", "the connector takes its coarse or its fine path per forward (modeling_granite_docling.py:640-648)"),
    "granite_docling_vision": ("unreachable", "as granite_docling: the coarse or the fine path"),
    "rf_detr": ("unreachable", "Group-DETR's extra query groups run only in training (modeling_rf_detr.py:1503)"),
    "d_fine": ("unreachable", "the LQE scoring of layers other than eval_idx runs only in training (modeling_d_fine.py:1266)"),
    "deimv2": ("unreachable", "as d_fine: LQE scoring only in training (modeling_deimv2.py:1535)"),
    "pp_doclayout_v4": ("unreachable", "class_embed, successor_order_head and relative_order_head 0-4 are kept for checkpoint compatibility; inference uses [-1] only (modeling_pp_doclayout_v4.py:1167-1169)"),
    "nemo_speechlm": ("unreachable", "word_timestamp_encoder runs only in get_word_timestamp_hidden_states, never in forward"),
    "blip": ("unreachable", "BlipModel.forward runs its text model without the image (modeling_blip.py:721), so the text layers' crossattention (modeling_blip_text.py:284, 306) runs only in get_multimodal_features"),
    "bridgetower": ("unreachable", "BridgeTowerModel.forward uses its text model's embeddings and layers directly (modeling_bridgetower.py:1216, 1232), never its pooler (built at :965)"),
    "flava": ("unreachable", "image_projection and text_projection (modeling_flava.py:971-972) serve get_image_features / get_text_features only, not FlavaModel.forward (:1078)"),
    "udop": ("unreachable", "each UdopStack builds embed_patches (modeling_udop.py:1076); UdopModel runs its decoder without pixel values (:1378), so the decoder's never runs"),
    "markuplm": ("unreachable", "xpath_unitseq2_embeddings is built (modeling_markuplm.py:55) but XPathEmbeddings.forward (:77-92) never calls it"),
    # --- outside what one forward on fake tensors can count ----------------
    "sam3": ("library", "box prompts go through torchvision.ops.roi_align (modeling_sam3.py:1245); no CPU build of torchvision matches this torch"),
    "sam3_lite_text": ("library", "as sam3: torchvision.ops.roi_align (modeling_sam3_lite_text.py:971)"),
    "sam2_video": ("session", "forward(inference_session, frame_idx, frame) is one streaming step over a session of frames, prompts and memory (modeling_sam2_video.py:1776)"),
    "sam3_tracker_video": ("session", "a streaming step over an inference session, as sam2_video"),
    "sam3_video": ("session", "a streaming step over an inference session, as sam2_video"),
    "edgetam_video": ("session", "a streaming step over an inference session, as sam2_video"),
    "vits": ("weights", "the output length comes from the predicted durations (modeling_vits.py:1347): unknown on fake tensors, NaN on untrained real ones"),
    "lightglue": ("weights", "how many keypoints SuperPoint keeps depends on the image and the weights (superpoint/modeling_superpoint.py:244); LightGlue prunes and stops early by confidence"),
    "speecht5": ("inputs", "the bare SpeechT5Model has no pre-nets: its input_values are hidden states [B, T, 768], which nothing in the config tells from the waveform of the speech-to-text model (--input input_values=1x500x768 --input decoder_input_values=1x128x768)"),
    "vibevoice_acoustic_tokenizer_encoder": ("inputs", "forward(hidden_states): encoder and decoder configs are identical, so waveform and latents cannot be told apart (--input hidden_states=1x1x240000)"),
    "vibevoice_acoustic_tokenizer_decoder": ("inputs", "forward(hidden_states), as the encoder"),
    "apertus1p5": ("modelprof", "its WavTokenizer pads by stride and kernel buffers made in its constructor (modeling_wavtokenizer.py:120-122, read at :146), which a meta build holds without values; small configs count whole on real tensors"),
}
