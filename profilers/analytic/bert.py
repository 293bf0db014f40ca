"""BERT (``model_type`` bert), after transformers' ``modeling_bert.py``.

Per layer, with B sequences of n tokens, hidden H, intermediate F and h heads
of size d = H/h (MACs; FLOPs = 2 x MACs; the layout of Su Jianlin, "线性Transformer应该不是你要等的那个模型",
kexue.fm/archives/8610, 2021):
  self-attention  Q,K,V,O projections 4·B·n·H²  +  scores and weighted sum 2·B·n²·H
  feed-forward    2·B·n·H·F  (= 8·B·n·H² when F = 4H)
  layer           12·B·n·H² + 2·B·n²·H  when F = 4H
All projections carry biases (params only: a bias add is not a MAC). The
pooler runs on the first token of each sequence (B·H² MACs); heads follow the
``architectures`` class. The masked-LM decoder (B·n·H·V) is tied to the word
embeddings and its bias to ``cls.predictions.bias``; ``tie_word_embeddings:
false`` gives it its own weight and bias. Cross-attention layers of a decoder
(``add_cross_attention``) are built but never run on ``input_ids`` alone.
"""

from __future__ import annotations

from . import Builder, Spec, Unsupported, family
from ._bertlike import Sizes, check_layers, check_span_head, encoder_layers, lookups, refusal, span_head, token_classifier

# Heads by class: does the backbone keep its pooler.
_POOLER = {
    None: True,  # BertModel
    "BertModel": True,
    "BertForMaskedLM": False,
    "BertLMHeadModel": False,
    "BertForPreTraining": True,
    "BertForNextSentencePrediction": True,
    "BertForSequenceClassification": True,
    "BertForTokenClassification": False,
    "BertForQuestionAnswering": False,
}


@family("bert")
def bert(spec: Spec, b: Builder) -> str:
    architecture = spec.architecture
    if architecture not in _POOLER:
        raise Unsupported(refusal(architecture))
    size = Sizes(spec.get("hidden_size", 768), spec.get("intermediate_size", 3072), spec.get("num_attention_heads", 12),
                 spec.get("num_hidden_layers", 12))
    check_layers(spec, size)
    check_span_head(spec, architecture)
    prefix = "" if architecture in (None, "BertModel") else "bert."
    lookups(spec, b, prefix, size.H, vocab=30522)
    encoder_layers(spec, b, f"{prefix}encoder.layer", size)
    layer_note(b, B=spec.batch, n=spec.seq_len, H=size.H, F=size.F)
    if _POOLER[architecture]:
        with b.group("pooler (first token)", f"{prefix}pooler", "B·H²", B=spec.batch, H=size.H):
            b.linear(f"{prefix}pooler.dense", size.H, size.H, rows=spec.batch, bias=True)
    head(spec, b, architecture, size.H)
    return architecture or "BertModel"


def layer_note(b: Builder, *, B: int, n: int, H: int, F: int) -> None:
    """The per-layer closed form and where attention takes over (Su 2021, kexue.fm/archives/8610)."""
    macs = 4 * B * n * H * H + 2 * B * n * H * F + 2 * B * n * n * H
    if F == 4 * H:
        b.formula_note("one encoder layer", "12·B·n·H² + 2·B·n²·H", macs, B=B, n=n, H=H)
        b.notes.append(
            f"self-attention (4nH² + 2n²H) outgrows the FFN (8nH²) once n > 2H = {2 * H:,} tokens; "
            f"the quadratic 2n²H outgrows all 12nH² once n > 6H = {6 * H:,}"
        )
    else:
        b.formula_note("one encoder layer", "4·B·n·H² + 2·B·n·H·F + 2·B·n²·H", macs, B=B, n=n, H=H, F=F)


def head(spec: Spec, b: Builder, architecture: str | None, H: int) -> None:
    B, labels = spec.batch, spec.num_labels
    if architecture in ("BertForMaskedLM", "BertLMHeadModel", "BertForPreTraining"):
        mlm_head(spec, b, H)
    if architecture in ("BertForPreTraining", "BertForNextSentencePrediction"):
        with b.group("next-sentence head", "cls.seq_relationship", "B·H·2", B=B, H=H):
            b.linear("cls.seq_relationship", H, 2, rows=B, bias=True)
    elif architecture == "BertForSequenceClassification":
        with b.group("classifier (pooled)", "classifier", "B·H·labels", B=B, H=H, labels=labels):
            b.linear("classifier", H, labels, rows=B, bias=True)
    elif architecture == "BertForTokenClassification":
        token_classifier(spec, b, H)
    elif architecture == "BertForQuestionAnswering":
        span_head(spec, b, H)


def mlm_head(spec: Spec, b: Builder, H: int) -> None:
    """transform (dense + layer norm) then the decoder H -> V, on every token."""
    V = spec.get("vocab_size", 30522)
    B, n = spec.batch, spec.seq_len
    rows = B * n
    tied = spec.get("tie_word_embeddings", True)
    name = "masked-LM head (decoder tied to the word embeddings)" if tied else "masked-LM head (untied decoder)"
    with b.group(name, "cls.predictions", "B·n·H² + B·n·H·V", B=B, n=n, H=H, V=V):
        b.param("cls.predictions.bias", V)
        b.linear("cls.predictions.transform.dense", H, H, rows=rows, bias=True)
        b.norm("cls.predictions.transform.LayerNorm", H)
        if tied:
            b.matmul("cls.predictions.decoder", rows * H * V, type="Linear")
        else:
            b.linear("cls.predictions.decoder", H, V, rows=rows, bias=True)
