"""Embedding passages on a Ray cluster: Ray Data streams batches to actors that each hold the model once.

An optional extra (`pip install -e '.[cluster]'`); nothing else in seedqa imports Ray. The build
(retrieval.build) hands over the passages and gets vectors back as each batch finishes, in any
order, and writes them to its cache as they come: so a cluster build streams and resumes
exactly like a local one.

Every worker loads the model itself (`resolve_model`: the default model is fetched and verified
from its pinned hashes on a worker that lacks it; a folder must exist at the same path there) and
must find the same weights as the machine that started the build, or the build stops.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .provision import ModelUnavailable


class ClusterUnavailable(ModelUnavailable):
    """Ray is missing or the cluster cannot be reached; the message says what to do."""


@dataclass(frozen=True)
class ClusterModel:
    """What a worker needs to load the very model the build was planned with."""

    model: str  # a model id or folder, as configured
    fingerprint: str  # the weights the driver resolved; a worker with other weights refuses
    cache_dir: str
    device: str = "cpu"
    batch_size: int = 16
    runtime: str = "torch"  # "onnx": each worker exports (once per machine's cache) and runs the ONNX copy


class EmbedActor:
    """A Ray Data actor: loads the model once, then embeds batch after batch."""

    def __init__(self, spec: ClusterModel) -> None:
        from .encoder import SentenceTransformerEncoder
        from .provision import resolve_model

        source, fingerprint = resolve_model(spec.model, spec.cache_dir, progress=False)
        if fingerprint != spec.fingerprint:
            raise ModelUnavailable(f"A Ray worker found other weights for {spec.model!r} than the machine that started the build; give every worker the same model.")
        self.encoder = SentenceTransformerEncoder(
            source,
            model_id=spec.model,
            fingerprint=fingerprint,
            device=spec.device,
            batch_size=spec.batch_size,
            runtime=spec.runtime,
            cache_dir=Path(spec.cache_dir),
            keep_torch=False,
        )

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        spans = [json.loads(s) for s in batch["spans"]]
        passages, sentences = self.encoder.encode_passages(list(batch["text"]), list(batch["title"]), spans)
        return {
            "row": batch["row"],
            "passage": passages,
            # Ragged per passage, so each row's sentence vectors travel as bytes (float32, row-major).
            "sentences": np.array([s.astype(np.float32).tobytes() for s in sentences], dtype=object),
        }


def connect(address: str) -> None:
    """`local`: a Ray instance on this machine; `auto`: the running cluster this machine belongs to, or a local one; else a cluster address."""
    try:
        import ray
    except ImportError:
        raise ClusterUnavailable("Building on Ray needs the cluster extra: pip install -e '.[cluster]'.") from None
    if ray.is_initialized():
        return
    try:
        if address == "local":
            ray.init(include_dashboard=False, log_to_driver=False)
        elif address == "auto":
            try:
                ray.init(address="auto", log_to_driver=False)
            except ConnectionError:
                ray.init(include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    except Exception as exc:  # Ray raises many kinds for an unreachable or mismatched cluster
        raise ClusterUnavailable(f"Could not reach the Ray cluster at {address!r} ({type(exc).__name__}): check index.ray_address (or --ray) and that the cluster runs the same Ray version.") from exc


def embed_on_ray(
    address: str,
    spec: ClusterModel,
    texts: Sequence[str],
    titles: Sequence[str],
    spans: Sequence[Sequence[tuple[int, int]]],
    *,
    batch: int,
    workers: int | None = None,
) -> Iterator[tuple[list[int], np.ndarray, list[np.ndarray]]]:
    """Yield (rows, passage vectors, sentence vectors per passage) for each finished batch, in any order."""
    connect(address)
    import ray

    resources = ray.cluster_resources()
    gpu = spec.device.startswith("cuda")
    # One worker per GPU, or per two CPU cores (torch uses both; one core per worker loses more to
    # memory traffic than it gains). A worker holds one copy of the model (~1.3 GB).
    cpus = 1 if gpu else 2
    count = workers or max(1, int(resources.get("GPU", 0)) if gpu else int(resources.get("CPU", 2)) // cpus)
    rows = [{"row": i, "text": t, "title": title, "spans": json.dumps([list(s) for s in sp])} for i, (t, title, sp) in enumerate(zip(texts, titles, spans))]
    data = ray.data.from_items(rows).map_batches(
        EmbedActor,
        fn_constructor_args=(spec,),
        batch_size=batch,
        batch_format="numpy",
        concurrency=count,
        num_cpus=cpus,
        num_gpus=1 if gpu else 0,
    )
    batches = iter(data.iter_batches(batch_size=None, batch_format="numpy"))
    while True:
        try:
            out = next(batches)
        except StopIteration:
            return
        except ray.exceptions.RayError as exc:
            cause = exc.cause if isinstance(getattr(exc, "cause", None), ModelUnavailable) else None
            raise ClusterUnavailable(str(cause) if cause else f"The Ray build failed on a worker ({type(exc).__name__}): see the Ray logs of the cluster at {address!r}.") from exc
        passages = np.asarray(out["passage"], dtype=np.float32)
        dimension = passages.shape[1]
        sentences = [np.frombuffer(raw, dtype=np.float32).reshape(-1, dimension) for raw in out["sentences"]]
        yield [int(r) for r in out["row"]], passages, sentences
