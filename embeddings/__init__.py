"""Embeddings: getting a sentence-transformers model onto the machine and turning text into unit vectors.

Public API, each imported only when first used (torch is heavy):
- `resolve_model` (a model id or folder to a verified local source and its fingerprint) and
  `ModelUnavailable`, its one-sentence error;
- `Encoder` (what retrieval needs of a model) and `SentenceTransformerEncoder` (the real one);
  `OnnxEncoder`, the same model's exported graph run without torch (reader off);
- `Reader` (the trained answer reader on the same model's torch weights), `OnnxReader` (the same
  reader as an exported graph, no torch) and `ReaderUnavailable`;
- `EmbeddingsSettings`, the `[embeddings]` section.
"""

from __future__ import annotations

from importlib import import_module

_WHERE = {
    "resolve_model": "provision",
    "ModelUnavailable": "provision",
    "Encoder": "encoder",
    "SentenceTransformerEncoder": "encoder",
    "OnnxEncoder": "onnx_encoder",
    "Reader": "reader",
    "OnnxReader": "onnx_reader",
    "ReaderUnavailable": "reading",
    "EmbeddingsSettings": "settings",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> object:
    if name in _WHERE:
        return getattr(import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(name)
