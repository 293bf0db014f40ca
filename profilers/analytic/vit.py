"""ViT (``model_type`` vit), after transformers' ``models/vit/modeling_vit.py``.

An image of side S with C channels is cut into p = ⌊S/P⌋² patches of side P
(``patch_size``) by a convolution with kernel = stride = P; a class token is
prepended, so the layers see n = p + 1 tokens. With B images, hidden H,
intermediate F and h heads of size d (``head_dim``, H/h by default; A = h·d),
in MACs (FLOPs = 2 x MACs):
  patch embedding  B·p·C·P²·H
  per layer        Q,K,V,O projections 4·B·n·H·A (4·B·n·H² when A = H)
                   + scores and weighted sum 2·B·n²·A  +  MLP 2·B·n·H·F
  heads            pooler B·H·H' (ViTModel only; H' = pooler_output_size),
                   classifier B·H·labels on the class token,
                   masked-image-modeling decoder: a 1x1 convolution
                   H -> stride²·C on the patch grid, B·p·H·stride²·C
Q, K and V carry biases only with ``qkv_bias``; every other projection and
the patch convolution carry biases (params only: a bias add is not a MAC).
The class token, position table (T·H, T = 1 + the patches of the config's
``image_size``) and the masked-image-modeling mask token are bare parameters.
An image side other than the config's runs with the position table
interpolated (``interpolate_pos_encoding=True``; bicubic interpolation is not
a MAC): parameters stay the config's, MACs follow the requested side.
"""

from __future__ import annotations

from . import Builder, Spec, Unsupported, family

_ARCHITECTURES = ("ViTModel", "ViTForImageClassification", "ViTForMaskedImageModeling")


@family("vit")
def vit(spec: Spec, b: Builder) -> str:
    architecture = spec.architecture or "ViTModel"
    if architecture not in _ARCHITECTURES:
        raise Unsupported(f"unsupported architecture {architecture}")
    size, patch = spec.get("image_size", 224), spec.get("patch_size", 16)
    if not isinstance(size, int) or not isinstance(patch, int):
        raise Unsupported("image_size and patch_size given as [height, width] pairs are not modelled")
    side = spec.image_size or size
    if side < patch:
        raise Unsupported(f"image side {side} is smaller than patch_size {patch}")
    if side != size:
        b.notes.append(
            f"image side {side} differs from the config's {size}: the position embeddings are interpolated "
            f"(transformers needs interpolate_pos_encoding=True); MACs follow the {side}-pixel input"
        )
    prefix = "" if architecture == "ViTModel" else "vit."
    H = spec.get("hidden_size", 768)
    p = (side // patch) ** 2
    embeddings(spec, b, prefix, H, p, mask_token=architecture == "ViTForMaskedImageModeling")
    for i in range(spec.get("num_hidden_layers", 12)):
        layer(spec, b, prefix, i, H, p + 1)
    with b.group("final layer norm (no MACs)", f"{prefix}layernorm", "2·H params", H=H):
        b.norm(f"{prefix}layernorm", H)
    head(spec, b, architecture, H, p)
    return architecture


def embeddings(spec: Spec, b: Builder, prefix: str, H: int, p: int, *, mask_token: bool) -> None:
    """Class token, (mask token), position table, then the patch convolution."""
    P, C = spec.get("patch_size", 16), spec.get("num_channels", 3)
    table = (spec.get("image_size", 224) // P) ** 2 + 1
    formula = "H + T·H params" + (" + H (mask token)" if mask_token else "")
    with b.group("class token and position table of T rows (no MACs)", f"{prefix}embeddings", formula, H=H, T=table):
        b.param(f"{prefix}embeddings.cls_token", H)
        if mask_token:
            b.param(f"{prefix}embeddings.mask_token", H)
        b.param(f"{prefix}embeddings.position_embeddings", table * H)
    path = f"{prefix}embeddings.patch_embeddings.projection"
    with b.group("patch embedding (kernel = stride = P)", path, "B·p·C·P²·H", B=spec.batch, p=p, C=C, P=P, H=H):
        b.conv(path, C, H, (P, P), positions=spec.batch * p, bias=True)


def layer(spec: Spec, b: Builder, prefix: str, i: int, H: int, n: int) -> None:
    """One pre-norm ViTLayer over n tokens."""
    h, F = spec.get("num_attention_heads", 12), spec.get("intermediate_size", 3072)
    d = spec.get("head_dim", H // h)
    A = h * d
    B = spec.batch
    rows = B * n
    path, pattern = f"{prefix}layers.{i}", f"{prefix}layers.*"
    projections, scores = ("4·B·n·H²", "2·B·n²·H") if A == H else ("4·B·n·H·A", "2·B·n²·A")
    with b.group("self-attention Q,K,V,O projections", f"{pattern}.attention", projections, B=B, n=n, H=H, A=A):
        for name in ("q_proj", "k_proj", "v_proj"):
            b.linear(f"{path}.attention.{name}", H, A, rows=rows, bias=spec.get("qkv_bias", True))
        b.linear(f"{path}.attention.o_proj", A, H, rows=rows, bias=True)
    with b.group("attention scores and weighted sum", f"{pattern}.attention", scores, B=B, n=n, H=H, A=A):
        b.attention(f"{path}.attention", batch=B, heads=h, q_len=n, kv_len=n, head_dim=d)
    with b.group("layer norms (no MACs)", pattern, "2 x 2·H params", H=H):
        b.norm(f"{path}.layernorm_before", H)
        b.norm(f"{path}.layernorm_after", H)
    with b.group("MLP (fc1 + fc2)", f"{pattern}.mlp", "2·B·n·H·F", B=B, n=n, H=H, F=F):
        b.linear(f"{path}.mlp.fc1", H, F, rows=rows, bias=True)
        b.linear(f"{path}.mlp.fc2", F, H, rows=rows, bias=True)


def head(spec: Spec, b: Builder, architecture: str, H: int, p: int) -> None:
    B = spec.batch
    if architecture == "ViTModel":
        out = spec.get("pooler_output_size", H)
        with b.group("pooler (class token)", "pooler", "B·H·H'", B=B, H=H, **{"H'": out}):
            b.linear("pooler.dense", H, out, rows=B, bias=True)
    elif architecture == "ViTForImageClassification":
        labels = num_labels(spec)
        if labels:
            with b.group("classifier (class token)", "classifier", "B·H·labels", B=B, H=H, labels=labels):
                b.linear("classifier", H, labels, rows=B, bias=True)
    else:
        mim_decoder(spec, b, H, p)


def num_labels(spec: Spec) -> int:
    """``num_labels: 0`` builds an Identity classifier (no parameters)."""
    if spec.config.get("num_labels") == 0 and not spec.config.get("id2label"):
        return 0
    return spec.num_labels


def mim_decoder(spec: Spec, b: Builder, H: int, p: int) -> None:
    """A 1x1 convolution H -> stride²·C over the (square) patch grid, then a
    pixel shuffle (no MACs)."""
    stride, C = spec.get("encoder_stride", 16), spec.get("num_channels", 3)
    b.sequential("decoder")
    with b.group("masked-image decoder (1x1 conv)", "decoder.0", "B·p·H·s²·C", B=spec.batch, p=p, H=H, s=stride, C=C):
        b.conv("decoder.0", H, stride * stride * C, (1, 1), positions=spec.batch * p, bias=True)
