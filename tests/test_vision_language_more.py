"""Vision-language models whose image (and sound) inputs follow from the
built model rather than the config alone: a patch embedding that takes rows
only, strided convolutions after the patches, image boundary tokens, audio
chunks with their sample counts, codec and VQ tokenizers, raw patches in a
single-stream encoder. Each runs whole on transformers' default config
(layers cut where the count allows), every module with weights doing work."""

from __future__ import annotations

from .test_coverage_sample import count, shapes


def test_hunyuan_vl_vision_tower_takes_patch_rows_and_counts_exactly(cli, tmp_path):
    """Its Conv2d patch embedding unpacks its input's two sides
    (modeling_hunyuan_vl.py: ``num_patches, _ = pixel_values.shape``): rows."""
    used, counted = count(cli, tmp_path, "hunyuan_vl_vision", num_hidden_layers=2)
    # 224 px / 16 = 14 x 14 patches of 3·16·16 = 768 values
    assert shapes(used) == {"grid_thw": [1, 3], "pixel_values": [196, 768]}
    assert "images: 14x14 patches of 768 values each (grid-style vision tower)" in used["notes"]
    # H 1152, F 4304, n = 196 patches, 2 layers of 4·n·H² + 2·n²·H + 2·n·H·F; the patch conv n·768·H;
    # the merger: a 2x2 stride-2 conv H -> 2H over 7 x 7, a 1x1 conv 2H -> 4H, a newline column (7 x 8),
    # then 4H -> text_hidden_size 3072 over those 56
    n, h, f = 196, 1152, 4304
    layers = 2 * (4 * n * h**2 + 2 * n**2 * h + 2 * n * h * f)
    merger = 49 * (4 * h) * (2 * h) + 49 * (2 * h) * (4 * h) + 56 * (4 * h) * 3072
    assert counted["macs"] == n * 768 * h + layers + merger == 8_151_736_320


def test_hy_v4_vl_whole_model_feeds_patch_rows_and_newline_tokens(cli, tmp_path):
    used, _ = count(cli, tmp_path, "hy_v4_vl", text_config={"num_hidden_layers": 1}, vision_config={"num_hidden_layers": 1})
    # 14 x 14 patches merge 2 x 2 into 7 rows of 7 tokens, each row ending with its newline: 56
    assert shapes(used) == {"image_grid_thw": [1, 3], "pixel_values": [196, 768], "input_ids": [1, 56 + 128],
                            "mm_token_type_ids": [1, 56 + 128]}
    assert "input_ids hold 56 image tokens (id 120120) per row" in used["notes"]


def test_dots3_note_feeds_audio_chunks_with_their_sample_counts(cli, tmp_path):
    used, _ = count(cli, tmp_path, "dots3_note", text_config={"num_hidden_layers": 1},
                    vision_config={"num_hidden_layers": 1, "per_layer_config": {}}, audio_config={"num_hidden_layers": 1})
    # 10 s at 16 kHz: 160,000 samples, one audio token per 1,280 (hop 160 x 8): 125; 16 x 16 patches merge into 64
    assert shapes(used) == {"image_grid_thw": [1, 3], "pixel_values": [256, 3, 14, 14],
                            "input_features": [1, 128, 1000], "chunk_sample_lengths": [1], "input_ids": [1, 125 + 64 + 128]}
    assert "input_ids hold 125 audio tokens (id 151720) per row" in used["notes"]
    assert "input_ids hold 64 image tokens (id 151660) per row" in used["notes"]


def test_ovis2_5_opens_and_closes_every_image_with_its_boundary_tokens(cli, tmp_path):
    used, _ = count(cli, tmp_path, "ovis2_5", text_config={"num_hidden_layers": 1}, vision_config={"num_hidden_layers": 1})
    # 512 px / 16 = 32 x 32 patches, merged 2 x 2: 256 image tokens between a start and an end token
    assert shapes(used) == {"image_grid_thw": [1, 3], "pixel_values": [1024, 3, 16, 16], "input_ids": [1, 1 + 256 + 1 + 128],
                            "mm_token_type_ids": [1, 386]}
    notes = used["notes"]
    assert notes.index("input_ids hold 1 image start tokens (id 151670) per row") < notes.index(
        "input_ids hold 256 image tokens (id 151655) per row") < notes.index("input_ids hold 1 image end tokens (id 151671) per row")


def test_step3p7_counts_the_features_its_stride_2_downsamplers_leave(cli, tmp_path):
    """The default config's sliding_window is null, which its text model
    cannot build a mask from (modeling_step3p7.py:897): set here."""
    used, _ = count(cli, tmp_path, "step3p7", text_config={"num_hidden_layers": 1, "sliding_window": 512},
                    vision_config={"num_hidden_layers": 1})
    # 728 px / 14 = 52 patches a side, two stride-2 convolutions: 13 x 13 = 169 features
    assert shapes(used) == {"pixel_values": [1, 3, 728, 728], "input_ids": [1, 169 + 128]}
    assert "image features: one per 56x56 pixels, the stride of the vision tower's convolutions (measured on the model)" in used["notes"]
    assert "input_ids hold 169 image tokens (id 151679) per row" in used["notes"]


def test_unlimited_ocr_shows_its_sam_encoder_the_image_and_counts_newlines_and_a_separator(cli, tmp_path):
    used, _ = count(cli, tmp_path, "unlimited_ocr", text_config={"num_hidden_layers": 1})
    # the SAM encoder's 1024 px in 16-px patches, two stride-2 convolutions: q = 16 a side;
    # a newline after every row and a view separator: 16·17 + 1 = 273
    assert shapes(used) == {"pixel_values": [1, 3, 1024, 1024], "input_ids": [1, 273 + 128]}
    assert "input_ids hold 273 image tokens (id 128815) per row" in used["notes"]


def test_neomme_embeds_every_images_patches_as_rows_among_its_tokens(cli, tmp_path):
    used, _ = count(cli, tmp_path, "neomme", num_hidden_layers=1)
    # 224 px / 32 = 7 x 7 patches of 3·32·32 values, one image token each
    assert shapes(used) == {"pixel_values": [49, 3072], "input_ids": [1, 49 + 128]}
    assert "input_ids hold 49 image tokens (id 6) per row" in used["notes"]


def test_apertus1p5_codes_images_at_their_size_and_sound_with_its_codec(cli, tmp_path):
    """Small sizes, so that the count falls back to real tensors: on fake
    ones its WavTokenizer pads by buffers a meta build holds no values of."""
    text = {"num_hidden_layers": 1, "hidden_size": 256, "intermediate_size": 512, "num_attention_heads": 4,
            "num_key_value_heads": 4, "head_dim": 64}
    used, _ = count(cli, tmp_path, "apertus1p5", text_config=text, vision_config={"base_channels": 32, "num_res_blocks": 1})
    # the VQ encoder's four stride-2 stages: 224 / 16 = 14 x 14 = 196 codes; 10 s at 24 kHz in hops of 600: 400 codes
    assert shapes(used) == {"image_sizes": [1, 2], "pixel_values": [1, 3, 224, 224], "input_values": [1, 1, 240000],
                            "padding_mask": [1, 240000], "input_ids": [1, 400 + 196 + 128]}
    assert "input_ids hold 196 image tokens (id 131079) per row" in used["notes"]
    assert "input_ids hold 400 audio tokens (id 131085) per row" in used["notes"]
