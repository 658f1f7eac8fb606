"""Embeddings: getting a sentence-transformers model onto the machine and turning text into unit vectors."""
