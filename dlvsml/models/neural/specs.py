"""The nets' model specs: defaults and search spaces from the papers, registered without torch.

A spec's ``build`` imports its estimator (and torch) only when called, so listing or validating
model names stays cheap. Sampled names are the estimator's own parameters (``set_params``).

Sources, narrowed so a trial fits a CPU budget:
- tabular: Gorishniy et al. 2021, "Revisiting Deep Learning Models for Tabular Data" (rtdl): MLP,
  ResNet, FT-Transformer (3 blocks, d_token 192, 8 heads, AdamW 1e-4, batch 256, patience 16);
  Grinsztajn et al. 2022, "Why do tree-based models still outperform deep learning on tabular
  data?": MLP lr 1e-5..1e-2 log, width/depth ranges, batch 512; McElfresh et al. 2023 (TabZilla):
  weight decay 1e-6..1e-3 log.
- image: learning rate, width, depth, dropout, weight decay, batch size and augmentation as
  commonly tuned for CIFAR-scale nets (He et al. 2016; the DAWNBench small-ResNet recipes).
- text: Joulin et al. 2016, "Bag of Tricks for Efficient Text Classification" (fastText: mean of
  word + hashed bigram embeddings, high learning rate, few epochs); Kim 2014, "Convolutional
  Neural Networks for Sentence Classification" (widths 3/4/5, 100 maps each, dropout 0.5);
  Vaswani et al. 2017 for the encoder, kept small.
- sentence embeddings: frozen all-MiniLM-L6-v2 (Reimers & Gurevych 2019); the head's space
  follows the tabular MLP, shallower because the inputs are already features.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from dlvsml.models.neural.embedding_cache import DEFAULT_ENCODER, require_sentence_transformers
from dlvsml.models.registry import ModelContext, ModelSpec, register

if TYPE_CHECKING:
    import optuna
    from sklearn.base import BaseEstimator

ALL_TASKS = frozenset({"binary", "multiclass", "regression"})
Space = Callable[["optuna.Trial", ModelContext], dict[str, Any]]


def _tabular_net() -> type[BaseEstimator]:
    from dlvsml.models.neural.tabular import TabularNet

    return TabularNet


def _image_net() -> type[BaseEstimator]:
    from dlvsml.models.neural.image import ImageNet

    return ImageNet


def _text_net() -> type[BaseEstimator]:
    from dlvsml.models.neural.text import TextNet

    return TextNet


def _sentence_net() -> type[BaseEstimator]:
    from dlvsml.models.neural.sentence import SentenceEmbeddingNet

    require_sentence_transformers()  # a one-line install hint rather than an import error
    return SentenceEmbeddingNet


def _register(
    name: str,
    estimator: Callable[[], type[BaseEstimator]],
    modalities: set[str],
    tasks: frozenset[str],
    space: Space,
    defaults: dict[str, Any],
    description: str,
    fixed: Mapping[str, Any] | None = None,
) -> None:
    """Register a net; ``build`` imports its ``estimator`` class (and torch) when called and
    passes it the defaults, the sampled params, the cell's settings and ``fixed`` (its arch)."""
    fixed = {"arch": name} if fixed is None else fixed

    def build(params: Mapping[str, Any], ctx: ModelContext) -> BaseEstimator:
        from dlvsml.models.neural.estimator import context_params

        columns = {"roles": ctx.roles} if "tabular" in modalities else {}  # tables' column roles
        return estimator()(**{**defaults, **params, **context_params(ctx), **fixed, **columns})

    register(
        ModelSpec(
            name=name,
            family="neural",
            modalities=frozenset(modalities),
            tasks=tasks,
            search_space=space,
            build=build,
            defaults=defaults,
            description=description,
        )
    )


# --- tabular: MLP, ResNet, FT-Transformer (`dlvsml.models.neural.tabular`) --------------------


def _common_space(trial: optuna.Trial, lr: tuple[float, float]) -> dict[str, Any]:
    return {
        "lr": trial.suggest_float("lr", *lr, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-3, log=True),
        "dropout": trial.suggest_float("dropout", 0.0, 0.5),
        "max_epochs": trial.suggest_int("max_epochs", 20, 100, step=20),
    }


def _mlp_space(trial: optuna.Trial, ctx: ModelContext) -> dict[str, Any]:
    # Grinsztajn 2022 / Gorishniy 2021: depth 1-8, width up to 1024; narrowed for CPU.
    return {
        **_common_space(trial, (1e-4, 1e-2)),
        "n_blocks": trial.suggest_int("n_blocks", 1, 4),
        "d_hidden": trial.suggest_categorical("d_hidden", [64, 128, 256, 512]),
        "batch_size": trial.suggest_categorical("batch_size", [128, 256, 512]),
    }


def _resnet_space(trial: optuna.Trial, ctx: ModelContext) -> dict[str, Any]:
    # Gorishniy 2021 ResNet: blocks 1-8, d 64-512, hidden factor 1-4; narrowed for CPU.
    return {
        **_common_space(trial, (1e-4, 1e-2)),
        "n_blocks": trial.suggest_int("n_blocks", 1, 4),
        "d_hidden": trial.suggest_categorical("d_hidden", [64, 128, 256]),
        "batch_size": trial.suggest_categorical("batch_size", [128, 256, 512]),
    }


def _ft_space(trial: optuna.Trial, ctx: ModelContext) -> dict[str, Any]:
    # Gorishniy 2021 FT-Transformer: blocks 1-6, d_token 64-512, lr 1e-5..1e-3; narrowed for CPU.
    return {
        **_common_space(trial, (1e-5, 1e-3)),
        "n_blocks": trial.suggest_int("n_blocks", 1, 3),
        "d_token": trial.suggest_categorical("d_token", [64, 128, 192]),
        "batch_size": trial.suggest_categorical("batch_size", [128, 256]),
    }


_register(
    "mlp",
    _tabular_net,
    {"tabular"},
    ALL_TASKS,
    _mlp_space,
    {
        "n_blocks": 4,
        "d_hidden": 256,
        "dropout": 0.1,
        "lr": 1e-3,
        "weight_decay": 1e-5,
        "batch_size": 512,
        "max_epochs": 100,
        "patience": 16,
    },
    "MLP on quantile-normal numbers and categorical embeddings (Grinsztajn 2022 defaults)",
)
_register(
    "resnet",
    _tabular_net,
    {"tabular"},
    ALL_TASKS,
    _resnet_space,
    {
        "n_blocks": 2,
        "d_hidden": 256,
        "dropout": 0.2,
        "lr": 1e-3,
        "weight_decay": 1e-5,
        "batch_size": 256,
        "max_epochs": 100,
        "patience": 16,
    },
    "rtdl ResNet-MLP: residual blocks with BatchNorm (Gorishniy 2021)",
)
_register(
    "ft_transformer",
    _tabular_net,
    {"tabular"},
    ALL_TASKS,
    _ft_space,
    {
        "n_blocks": 3,
        "d_token": 192,
        "n_heads": 8,
        "dropout": 0.1,
        "lr": 1e-4,
        "weight_decay": 1e-5,
        "batch_size": 256,
        "max_epochs": 100,
        "patience": 16,
    },
    "FT-Transformer: feature tokens through a Transformer encoder (Gorishniy 2021 defaults)",
)


# --- image: small ConvNet, small ResNet (`dlvsml.models.neural.image`) -------------------------


def _image_space(trial: optuna.Trial, ctx: ModelContext) -> dict[str, Any]:
    return {
        "lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-5, 1e-3, log=True),
        "width": trial.suggest_categorical("width", [16, 32, 64]),
        "n_stages": trial.suggest_int("n_stages", 2, 3),
        "dropout": trial.suggest_float("dropout", 0.0, 0.5),
        "batch_size": trial.suggest_categorical("batch_size", [64, 128, 256]),
        "augment": trial.suggest_categorical("augment", [True, False]),
        "max_epochs": trial.suggest_int("max_epochs", 10, 40, step=10),
    }


_IMAGE_TASKS = frozenset({"binary", "multiclass"})
_register(
    "cnn",
    _image_net,
    {"image"},
    _IMAGE_TASKS,
    _image_space,
    {
        "n_stages": 3,
        "width": 32,
        "dropout": 0.1,
        "augment": True,
        "lr": 1e-3,
        "weight_decay": 5e-4,
        "batch_size": 128,
        "max_epochs": 30,
        "patience": 8,
    },
    "small ConvNet (conv-BN-ReLU stages, global pooling) with crop/flip augmentation",
)
_register(
    "resnet_small",
    _image_net,
    {"image"},
    _IMAGE_TASKS,
    _image_space,
    {
        "n_stages": 3,
        "width": 16,
        "dropout": 0.0,
        "augment": True,
        "lr": 2e-3,
        "weight_decay": 5e-4,
        "batch_size": 128,
        "max_epochs": 30,
        "patience": 8,
    },
    "small CIFAR-style ResNet (basic blocks, 3 stages) with crop/flip augmentation",
)


# --- text: fastText, TextCNN, small Transformer (`dlvsml.models.neural.text`) ------------------


def _text_space(arch: str) -> Space:
    lr_range = {"fasttext": (1e-3, 1e-1), "textcnn": (1e-4, 1e-2), "text_transformer": (1e-5, 1e-3)}

    def space(trial: optuna.Trial, ctx: ModelContext) -> dict[str, Any]:
        params = {
            "lr": trial.suggest_float("lr", *lr_range[arch], log=True),
            "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-3, log=True),
            "dropout": trial.suggest_float("dropout", 0.0, 0.5),
            "batch_size": trial.suggest_categorical("batch_size", [32, 64, 128]),
            "d_embedding": trial.suggest_categorical("d_embedding", [32, 64, 128]),
            "max_epochs": trial.suggest_int("max_epochs", 5, 30, step=5),
        }
        if arch == "fasttext":
            params["n_buckets"] = trial.suggest_categorical("n_buckets", [10_000, 20_000, 50_000])
        if arch == "textcnn":
            params["n_filters"] = trial.suggest_categorical("n_filters", [50, 100, 200])
        if arch == "text_transformer":
            params["n_layers"] = trial.suggest_int("n_layers", 1, 3)
        return params

    return space


_register(
    "fasttext",
    _text_net,
    {"text"},
    ALL_TASKS,
    _text_space("fasttext"),
    {
        "d_embedding": 64,
        "dropout": 0.0,
        "lr": 2e-2,
        "weight_decay": 1e-6,
        "batch_size": 64,
        "max_epochs": 20,
        "patience": 4,
        "n_buckets": 20_000,
    },
    "fastText: averaged word + hashed bigram embeddings, linear classifier (Joulin 2016)",
)
_register(
    "textcnn",
    _text_net,
    {"text"},
    ALL_TASKS,
    _text_space("textcnn"),
    {
        "d_embedding": 128,
        "n_filters": 100,
        "dropout": 0.5,
        "lr": 1e-3,
        "weight_decay": 1e-5,
        "batch_size": 64,
        "max_epochs": 20,
        "patience": 4,
    },
    "TextCNN: 3/4/5-word convolutions with max-over-time pooling (Kim 2014)",
)
_register(
    "text_transformer",
    _text_net,
    {"text"},
    ALL_TASKS,
    _text_space("text_transformer"),
    {
        "d_embedding": 64,
        "n_heads": 4,
        "n_layers": 2,
        "dropout": 0.1,
        "lr": 5e-4,
        "weight_decay": 1e-4,
        "batch_size": 64,
        "max_epochs": 20,
        "patience": 4,
    },
    "small Transformer encoder trained from scratch, masked mean pooling",
)


# --- transfer: frozen sentence embeddings + an MLP head (`dlvsml.models.neural.sentence`) ------


def _sentence_space(trial: optuna.Trial, ctx: ModelContext) -> dict[str, Any]:
    return {
        "lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-3, log=True),
        "n_blocks": trial.suggest_int("n_blocks", 0, 2),
        "d_hidden": trial.suggest_categorical("d_hidden", [128, 256, 512]),
        "dropout": trial.suggest_float("dropout", 0.0, 0.5),
        "batch_size": trial.suggest_categorical("batch_size", [32, 64, 128]),
        "max_epochs": trial.suggest_int("max_epochs", 20, 60, step=10),
    }


_register(
    "sentence_embeddings",
    _sentence_net,
    {"text"},
    ALL_TASKS,
    _sentence_space,
    {
        "encoder": DEFAULT_ENCODER,
        "n_blocks": 1,
        "d_hidden": 256,
        "dropout": 0.1,
        "lr": 1e-3,
        "weight_decay": 1e-4,
        "batch_size": 64,
        "max_epochs": 50,
        "patience": 8,
    },
    "frozen all-MiniLM-L6-v2 sentence embeddings + a trained MLP head (transfer)",
    fixed={},
)
