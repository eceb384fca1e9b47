"""Featurisers: scikit-learn transformers that turn raw tabular, image or text data into numbers.

They sit first in every classical model's pipeline, so all models receive the same raw data and
featurisation is tuned and cross-validated with the model. Each also accepts a plain numeric 2-d
array (scikit-learn's estimator checks feed those). `feature_space` and `featuriser` give a
model the featuriser's share of its search space and the matching first pipeline step.

Example::

    >>> import numpy as np
    >>> ImageFeatures(kind="hog").fit_transform(np.zeros((2, 8, 8), np.uint8)).shape
    (2, 324)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    OneHotEncoder,
    OrdinalEncoder,
    QuantileTransformer,
    StandardScaler,
)
from sklearn.utils.validation import check_is_fitted, validate_data

from dlvsml.data.roles import CATEGORICAL, DROP, TEXT
from dlvsml.models.role_features import RoleFeatures, needs_role_features

if TYPE_CHECKING:  # search spaces receive a trial; importing Optuna here would slow `dlvsml models`
    import optuna


Encoding = Literal["onehot", "ordinal", "native"]
# Vocabulary of a table's free-text column under one-hot encoding (sparse TF-IDF, word 1-2 grams).
TABLE_TEXT_FEATURES = 20_000
Scaling = Literal["standard", "quantile", "none"]

_MISSING = "__missing__"


def _is_categorical(column: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


def _scaler(scaling: Scaling, n_rows: int) -> Any:
    scalers = {
        "standard": StandardScaler,
        # Grinsztajn et al. 2022 feed neural nets quantile-normalised features; useful for
        # linear, kernel and distance models on skewed columns too.
        "quantile": lambda: QuantileTransformer(
            n_quantiles=min(1000, n_rows), output_distribution="normal", subsample=None
        ),
        "none": lambda: "passthrough",
    }
    if scaling not in scalers:
        raise ValueError(f"scaling must be one of {sorted(scalers)}, got {scaling!r}")
    return scalers[scaling]()


class TabularFeatures(TransformerMixin, BaseEstimator):
    """Impute, encode and scale a table whose categorical columns hold strings.

    ``roles`` (`dlvsml.data.Dataset.roles`) say what each column is: dates, high-cardinality
    strings and free text go through `RoleFeatures` first (free text as sparse TF-IDF instead
    when the encoding is ``onehot``, which then makes the output sparse); identifiers and
    constants are dropped. Columns without a role are categorical when not numeric (str,
    object, category, bool). Numeric columns get median imputation (plus optional missing
    indicators) and ``scaling``; categorical ones get a constant for missing values and then:

    - ``onehot``: one-hot with rare levels (< ``min_frequency``) pooled, at most
      ``max_categories`` per column, unknown levels mapped to the infrequent bucket;
    - ``ordinal``: integer codes (unknown and missing: -1), for tree ensembles;
    - ``native``: a DataFrame with ``category`` columns and NaNs kept, for XGBoost/LightGBM.
    """

    def __init__(
        self,
        encoding: Encoding = "onehot",
        scaling: Scaling = "standard",
        min_frequency: int = 5,
        max_categories: int = 32,
        missing_indicator: bool = False,
        roles: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.encoding = encoding
        self.scaling = scaling
        self.min_frequency = min_frequency
        self.max_categories = max_categories
        self.missing_indicator = missing_indicator
        self.roles = roles

    def fit(self, X: Any, y: Any = None) -> TabularFeatures:
        frame = self._frame(X, reset=True)
        roles = dict(self.roles)
        sparse_text = self.encoding == "onehot"
        self.texts_ = {
            c: TextFeatures(max_features=TABLE_TEXT_FEATURES, char_ngrams=False).fit(frame[c])
            for c, role in roles.items()
            if sparse_text and role == TEXT and c in frame.columns
        }
        self.roles_step_ = None
        if needs_role_features(self.roles):
            step_roles = tuple((c, DROP if c in self.texts_ else r) for c, r in self.roles)
            self.roles_step_ = RoleFeatures(step_roles).fit(frame)
            frame = self.roles_step_.transform(frame)
        self.categorical_ = [
            c
            for c in frame.columns
            if roles.get(c) == CATEGORICAL or (c not in roles and _is_categorical(frame[c]))
        ]
        self.numeric_ = [c for c in frame.columns if c not in set(self.categorical_)]
        frame = self._clean(frame)
        if self.encoding == "native":
            self.categories_ = {c: pd.Index(sorted(frame[c].unique())) for c in self.categorical_}
            return self
        self.columns_ = ColumnTransformer(
            [
                ("numeric", self._numeric_steps(len(frame)), self.numeric_),
                ("categorical", self._categorical_encoder(), self.categorical_),
            ],
            sparse_threshold=0.0,
        ).fit(frame)
        return self

    def transform(self, X: Any) -> np.ndarray | sparse.csr_matrix | pd.DataFrame:
        check_is_fitted(self, ["categorical_"])
        frame = self._frame(X, reset=False)
        texts = [encoder.transform(frame[c]) for c, encoder in self.texts_.items()]
        if self.roles_step_ is not None:
            frame = self.roles_step_.transform(frame)
        frame = self._clean(frame)
        if self.encoding != "native":
            dense = np.asarray(self.columns_.transform(frame), dtype=np.float64)
            return sparse.hstack([dense, *texts], format="csr") if texts else dense
        native = frame[self.numeric_].astype(np.float64)
        for column in self.categorical_:
            native[column] = pd.Categorical(frame[column], categories=self.categories_[column])
        return native[list(frame.columns)]

    def _frame(self, X: Any, reset: bool) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=reset, skip_check_array=True)
            if len(X) == 0:
                raise ValueError("Found array with 0 sample(s) (shape=(0, ...)); need at least 1")
            frame = X.reset_index(drop=True)
        else:
            frame = pd.DataFrame(validate_data(self, X, reset=reset, ensure_all_finite="allow-nan"))
        frame.columns = [str(c) for c in frame.columns]
        return frame

    def _clean(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Categoricals as plain str with a marker for missing, so every encoder sees one type."""
        frame = frame.copy()
        for column in self.categorical_:
            values = frame[column]
            if isinstance(values.dtype, pd.StringDtype):  # already one type: 6x faster
                frame[column] = values.fillna(_MISSING)
                continue
            values = values.astype(object)
            frame[column] = values.where(values.notna(), _MISSING).astype(str).astype(object)
        frame[self.numeric_] = frame[self.numeric_].astype(np.float64)
        return frame

    def _numeric_steps(self, n_rows: int) -> Any:
        imputer = SimpleImputer(
            strategy="median", add_indicator=self.missing_indicator, keep_empty_features=True
        )
        return make_pipeline(imputer, _scaler(self.scaling, n_rows))

    def _categorical_encoder(self) -> Any:
        encoders = {
            "onehot": lambda: OneHotEncoder(
                handle_unknown="infrequent_if_exist",
                min_frequency=self.min_frequency,
                max_categories=self.max_categories,
                sparse_output=False,
            ),
            "ordinal": lambda: OrdinalEncoder(
                handle_unknown="use_encoded_value", unknown_value=-1, dtype=np.float64
            ),
        }
        if self.encoding not in encoders:
            raise ValueError(f"encoding must be one of {[*encoders, 'native']}")
        return encoders[self.encoding]()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        return tags


class ImageFeatures(TransformerMixin, BaseEstimator):
    """Images (``N×H×W`` or ``N×H×W×C``) as flat pixels scaled to [0, 1], or as HOG descriptors.

    Pixels are divided by the brightest value seen at fit, so 0–16 digits and 0–255 photos both
    land in [0, 1]. HOG (Dalal & Triggs 2005) uses ``hog_cells`` cells along the shorter side,
    so 8×8 digits and 32×32 photos get the same 4×4 grid by default. A 2-d array is taken as
    already-flat images (pixels only).
    """

    def __init__(
        self, kind: Literal["pixels", "hog"] = "pixels", hog_cells: int = 4, orientations: int = 9
    ) -> None:
        self.kind = kind
        self.hog_cells = hog_cells
        self.orientations = orientations

    def fit(self, X: Any, y: Any = None) -> ImageFeatures:
        images = self._images(X, reset=True)
        self.scale_ = float(max(np.max(images), 1.0)) if self.kind == "pixels" else 1.0
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, ["scale_"])
        images = self._images(X, reset=False)
        if self.kind == "pixels":
            return images.reshape(len(images), -1).astype(np.float32) / np.float32(self.scale_)
        return np.stack([self._hog(image) for image in images]).astype(np.float32)

    def _images(self, X: Any, reset: bool) -> np.ndarray:
        array = np.asarray(X)
        if array.ndim == 2 and self.kind == "hog":
            raise ValueError("HOG needs images shaped N×H×W or N×H×W×C, not a 2-d array")
        if array.ndim not in (2, 3, 4):
            raise ValueError(f"expected images N×H×W or N×H×W×C, got shape {array.shape}")
        if reset:
            self.image_shape_ = array.shape[1:]
        elif array.shape[1:] != self.image_shape_:
            raise ValueError(
                f"X has images of shape {array.shape[1:]}, but this model was fitted on "
                f"{self.image_shape_}"
            )
        flat = validate_data(self, array.reshape(len(array), -1), reset=reset)
        return flat.reshape(array.shape)

    def _hog(self, image: np.ndarray) -> np.ndarray:
        from skimage.feature import hog

        cell = max(1, min(image.shape[:2]) // self.hog_cells)
        return hog(
            image,
            orientations=self.orientations,
            pixels_per_cell=(cell, cell),
            cells_per_block=(2, 2),
            channel_axis=-1 if image.ndim == 3 else None,
        )


class TextFeatures(TransformerMixin, BaseEstimator):
    """TF-IDF of word 1–2 grams, optionally stacked with char 2–5 grams (sublinear tf).

    ``max_features`` bounds each vocabulary, which keeps tree ensembles on the sparse matrix
    affordable. Input: a 1-d array or list of str (an ``N×1`` array is accepted too).
    """

    def __init__(
        self, max_features: int = 20_000, char_ngrams: bool = False, min_df: int = 1
    ) -> None:
        self.max_features = max_features
        self.char_ngrams = char_ngrams
        self.min_df = min_df

    def fit(self, X: Any, y: Any = None) -> TextFeatures:
        texts = _texts(X)
        self.vectorizers_ = [v.fit(texts) for v in self._vectorizers()]
        self.n_features_in_ = 1
        return self

    def transform(self, X: Any) -> sparse.csr_matrix:
        check_is_fitted(self, ["vectorizers_"])
        texts = _texts(X)
        return sparse.hstack([v.transform(texts) for v in self.vectorizers_], format="csr")

    def _vectorizers(self) -> list[TfidfVectorizer]:
        common = {"sublinear_tf": True, "max_features": self.max_features, "min_df": self.min_df}
        found = [TfidfVectorizer(ngram_range=(1, 2), **common)]
        if self.char_ngrams:
            found.append(TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), **common))
        return found

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags


def _texts(X: Any) -> np.ndarray:
    array = np.asarray(X, dtype=object)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"text input must be a 1-d array of str, got shape {array.shape}")
    return np.array(["" if t is None or t != t else str(t) for t in array], dtype=object)


class KernelScaler(TransformerMixin, BaseEstimator):
    """Divide features by the root of their total variance.

    After this, an RBF ``gamma`` of 1 equals scikit-learn's ``gamma="scale"``, so one gamma range
    suits every dataset whatever its width. Works on dense and sparse input.
    """

    def fit(self, X: Any, y: Any = None) -> KernelScaler:
        X = validate_data(self, X, accept_sparse="csr", reset=True)
        if sparse.issparse(X):
            total = X.multiply(X).sum() / X.shape[0] - np.square(X.mean(axis=0)).sum()
        else:
            total = X.var(axis=0).sum()
        self.scale_ = float(np.sqrt(total)) if total > 0 else 1.0
        return self

    def transform(self, X: Any) -> Any:
        check_is_fitted(self, ["scale_"])
        X = validate_data(self, X, accept_sparse="csr", reset=False)
        return X / self.scale_ if not sparse.issparse(X) else X.multiply(1 / self.scale_).tocsr()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


# --- featuriser choice and search space, shared by the classical models ---------------------
# How a learner wants its tabular features: one-hot + scaled (linear, kernel, distance models),
# ordinal codes (tree ensembles), or native categoricals (gradient boosting).
Style = Literal["scaled", "trees", "native"]
Roles = tuple[tuple[str, str], ...]

# Featuriser settings every model shares; one search space per modality, below. Names are the
# featuriser's own parameters under the pipeline's "features" step.
FEATURE_DEFAULTS: dict[str, Any] = {
    "features__scaling": "standard",
    "features__kind": "pixels",
    "features__hog_cells": 4,
    "features__max_features": 20_000,
    # Char n-grams lift every learner on short, misspelt texts (SMS: +8-25 points of
    # balanced accuracy at 600 rows), at a bounded cost.
    "features__char_ngrams": True,
}


def _tabular_space(trial: optuna.Trial, style: Style) -> dict[str, Any]:
    if style != "scaled":
        return {}
    # Grinsztajn et al. 2022 quantile-transform features for scale-sensitive learners.
    scaling = trial.suggest_categorical("features__scaling", ["standard", "quantile"])
    return {"features__scaling": scaling}


def _image_space(trial: optuna.Trial, style: Style) -> dict[str, Any]:
    # Raw pixels vs HOG (Dalal & Triggs 2005), the classic hand-made image features.
    params = {"features__kind": trial.suggest_categorical("features__kind", ["pixels", "hog"])}
    if params["features__kind"] == "hog":
        params["features__hog_cells"] = trial.suggest_categorical("features__hog_cells", [4, 7])
    return params


def _text_space(trial: optuna.Trial, style: Style) -> dict[str, Any]:
    # Tree ensembles on sparse TF-IDF get a smaller vocabulary to stay affordable.
    sizes = [5_000, 20_000] if style == "native" else [5_000, 20_000, 50_000]
    return {
        "features__max_features": trial.suggest_categorical("features__max_features", sizes),
        "features__char_ngrams": trial.suggest_categorical("features__char_ngrams", [False, True]),
    }


def _tabular_features(params: Mapping[str, Any], style: Style, roles: Roles = ()) -> BaseEstimator:
    encoding = {"scaled": "onehot", "trees": "ordinal", "native": "native"}[style]
    scaling = params["features__scaling"] if style == "scaled" else "none"
    return TabularFeatures(encoding=encoding, scaling=scaling, roles=roles)


def _image_features(params: Mapping[str, Any], style: Style, roles: Roles = ()) -> BaseEstimator:
    return ImageFeatures(kind=params["features__kind"], hog_cells=params["features__hog_cells"])


def _text_features(params: Mapping[str, Any], style: Style, roles: Roles = ()) -> BaseEstimator:
    return TextFeatures(
        max_features=params["features__max_features"], char_ngrams=params["features__char_ngrams"]
    )


_FEATURE_SPACES: dict[str, Callable[[optuna.Trial, Style], dict[str, Any]]] = {
    "tabular": _tabular_space,
    "image": _image_space,
    "text": _text_space,
}
_FEATURISERS: dict[str, Callable[[Mapping[str, Any], Style, Roles], BaseEstimator]] = {
    "tabular": _tabular_features,
    "image": _image_features,
    "text": _text_features,
}


def feature_space(trial: optuna.Trial, modality: str, style: Style) -> dict[str, Any]:
    """The featuriser's share of a model's search space, for a modality."""
    return _FEATURE_SPACES[modality](trial, style)


def featuriser(
    params: Mapping[str, Any], modality: str, style: Style, roles: Roles = ()
) -> BaseEstimator:
    """The first pipeline step of a classical model, from its (sampled) params and the
    dataset's column ``roles``."""
    return _FEATURISERS[modality](params, style, roles)
