"""Audio-language models: an audio tower's features put into the text at
placeholder tokens (speech LLMs)."""

from __future__ import annotations
