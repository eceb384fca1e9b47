"""A catalogue of bad inputs: each exits 2 with one line that says what is wrong and how to fix it.

Specs, data files, command-line flags and stores, run through the real entry point
(`dlvsml.cli.main`) in this process, so forty cases take seconds; store cases also check that
an existing store still reads the same runs afterwards. More data cases, run as subprocesses, are
in ``test_cli_data.py``; spec validation in detail is in ``tests/unit/test_spec.py``. URI parsing
and loading are fuzzed at the end: a random string gives a Dataset or a DataError, never another
exception.
"""

from __future__ import annotations

import socket
import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mlflow.tracking import MlflowClient

from dlvsml.cli import main
from dlvsml.data import load_dataset, parse_uri
from dlvsml.errors import DataError
from dlvsml.run.suite import run_spec
from dlvsml.spec import parse_spec

GOOD = {
    "name": "stored",
    "datasets": ["builtin:breast_cancer"],
    "train_sizes": [40],
    "models": ["linear"],
    "budget": {"trials": 1},
}


def _spec(tmp: Path, content: object, name: str = "spec.yaml") -> list[str]:
    path = tmp / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    return ["run", str(path)]


def _changed(**changes: object) -> Callable[[Path], list[str]]:
    return lambda tmp: _spec(tmp, {**GOOD, **changes})


def _csv(tmp: Path, frame: pd.DataFrame, name: str = "t.csv", **options: object) -> Path:
    frame.to_csv(tmp / name, index=False, **options)
    return tmp / name


def _file(tmp: Path, name: str, content: bytes) -> Path:
    (tmp / name).write_bytes(content)
    return tmp / name


def _show(uri: str) -> list[str]:
    return ["datasets", "show", uri]


def _npz(tmp: Path, X: np.ndarray, y: np.ndarray) -> list[str]:
    np.savez(tmp / "images.npz", X=X, y=y)
    return _show(f"npz:{tmp / 'images.npz'}")


def _folder(tmp: Path, files: dict[str, bytes]) -> list[str]:
    for name, content in files.items():
        (tmp / "images" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / "images" / name).write_bytes(content)
    (tmp / "images").mkdir(exist_ok=True)
    return _show(f"imagefolder:{tmp / 'images'}")


def _with_option(argv: list[str]) -> list[str]:
    return [*argv[:-1], argv[-1] + "?target=y"]


def _latin1(tmp: Path) -> list[str]:
    frame = pd.DataFrame({"city": ["Zürich", "Genève"] * 3, "target": [0, 1] * 3})
    return _show(f"file:{_csv(tmp, frame, encoding='latin-1')}")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # free now, and nothing listens on it


# name -> (argv built in a fresh folder, text the one error line must contain)
SPECS: dict[str, tuple[Callable[[Path], list[str]], str]] = {
    "spec bad yaml": (lambda t: _spec(t, "name: [unclosed\n"), "not valid YAML at line"),
    "spec not a mapping": (lambda t: _spec(t, "- a\n- list\n"), "YAML mapping"),
    "spec not utf-8": (lambda t: _spec(t, "name: caf\xe9\n".encode("latin-1")), "cannot read"),
    "spec python tag": (
        lambda t: _spec(t, "!!python/object/apply:os.system ['true']\n"),
        "not valid YAML",
    ),
    "spec missing file": (lambda t: ["run", str(t / "absent.yaml")], "no such spec file"),
    "spec is a folder": (lambda t: ["run", str(t)], "cannot read the spec file"),
    "spec unknown key": (_changed(epochs=3), "unknown field 'epochs'"),
    "spec unknown model": (_changed(models=["gpt"]), "unknown model 'gpt'"),
    "spec unknown scheme": (_changed(datasets=["csv:x.csv"]), "unknown data source scheme"),
    "spec model unfit for data": (_changed(models=["cnn"]), "no model of ['cnn'] supports"),
    "spec size above pool": (_changed(train_sizes=[100000]), "exceeds the 455 rows"),
    "spec size zero": (_changed(train_sizes=[0]), "train_sizes"),
    "spec zero trials": (_changed(budget={"trials": 0}), "budget.trials"),
    "spec negative seconds": (_changed(budget={"seconds": -1}), "budget.seconds"),
    "spec zero timeout": (_changed(cell_timeout=0), "cell_timeout"),
    "spec zero memory": (_changed(cell_memory_mb=0), "cell_memory_mb"),
}
DATA: dict[str, tuple[Callable[[Path], list[str]], str]] = {
    "data empty file": (
        lambda t: _show(f"file:{_file(t, 'e.csv', b'')}"),
        "No columns to parse",
    ),
    "data header only": (
        lambda t: _show("file:" + str(_file(t, "h.csv", b"a,target\n"))),
        "the table has no rows",
    ),
    "data only a target": (
        lambda t: _show(f"file:{_csv(t, pd.DataFrame({'target': [0, 1, 0]}))}"),
        "no features",
    ),
    "data one class left": (
        lambda t: _show(
            f"file:{_csv(t, pd.DataFrame({'x': [1, 2, 3], 'target': ['yes', None, 'yes']}))}"
        ),
        "single class",
    ),
    "data infinite regression target": (
        lambda t: _show(
            f"file:{_csv(t, pd.DataFrame({'x': range(4), 'y': [0.5, np.inf, 2, 3]}))}"
            "?target=y&task=regression"
        ),
        "infinite values",
    ),
    "data mixed regression target": (
        lambda t: _show(
            f"file:{_csv(t, pd.DataFrame({'x': [1, 2, 3], 'y': ['1.5', 'abc', '2']}))}"
            "?target=y&task=regression"
        ),
        "must be numeric",
    ),
    "data constant regression target": (
        lambda t: _show(f"file:{_csv(t, pd.DataFrame({'x': [1, 2, 3], 'y': [2.5, 2.5, 2.5]}))}"),
        "constant",
    ),
    "data latin-1 csv": (_latin1, "is not UTF-8 text"),
    "data binary garbage": (
        lambda t: _show(f"file:{_file(t, 'g.csv', bytes(range(256)) * 8)}"),
        "cannot read",
    ),
    "data unsupported suffix": (
        lambda t: _show(f"file:{_file(t, 't.xlsx', b'PK')}"),
        "unsupported file type",
    ),
    "data device file": (lambda t: _show("file:/dev/null"), "not a regular file"),
    "data relative missing path": (
        lambda t: _show("file:no/such.csv"),
        "no such file '/",  # the resolved, absolute path
    ),
    "data empty uri": (lambda t: _show(""), "not a source URI"),
    "data scheme without path": (lambda t: _show("file:"), "names no dataset"),
    "data option of another scheme": (
        lambda t: _with_option(_npz(t, np.zeros((4, 3, 3), np.uint8), np.array([0, 1, 0, 1]))),
        "unknown option target",
    ),
    "data zero-pixel images": (
        lambda t: _npz(t, np.zeros((4, 0, 0), np.uint8), np.array([0, 1, 0, 1])),
        "no pixels",
    ),
    "data nan pixels": (
        lambda t: _npz(t, np.full((4, 3, 3), np.nan), np.array([0, 1, 0, 1])),
        "NaN or infinite pixels",
    ),
    "data labels per image": (
        lambda t: _npz(t, np.zeros((4, 3, 3), np.uint8), np.array([0, 1, 0])),
        "give one label per image",
    ),
    "data pickled npz": (
        lambda t: _npz(t, np.array([{"a": 1}] * 4, dtype=object), np.array([0, 1, 0, 1])),
        "cannot read",
    ),
    "data empty image folder": (lambda t: _folder(t, {}), "no PNG/JPEG images"),
    "data undecodable png": (
        lambda t: _folder(t, {"a/1.png": b"not a png", "b/1.png": b"no"}),
        "cannot decode image",
    ),
    "data texts without labels": (
        lambda t: [
            "datasets",
            "show",
            f"textcsv:{_csv(t, pd.DataFrame({'text': ['a', 'b'], 'label': [None, None]}))}",
        ],
        "no values",
    ),
}
FLAGS: dict[str, tuple[Callable[[Path], list[str]], str]] = {
    "flag workers zero": (
        lambda t: [*_spec(t, GOOD), "--workers", "0"],
        "Invalid value for '--workers'",
    ),
    "flag unknown": (lambda t: [*_spec(t, GOOD), "--frobnicate"], "No such option: --frobnicate"),
    "flag missing argument": (lambda t: ["run"], "Missing argument"),
    "flag unknown executor": (lambda t: [*_spec(t, GOOD), "--executor", "slurm"], "slurm"),
    "flag unknown command": (lambda t: ["train"], "No such command 'train'"),
}
CASES = {**SPECS, **DATA, **FLAGS}


def run_main(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    """Run the console-script entry point; return its exit code and stderr."""
    saved = sys.argv
    sys.argv = ["dlvsml", *argv]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = saved
    return code, capsys.readouterr().err


def assert_one_line(code: int, err: str, expected: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and expected in lines[0], lines[0]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DLVSML_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_exits_2_with_one_line(
    name: str, workdir: Path, capsys: pytest.CaptureFixture
) -> None:
    build, expected = CASES[name]
    argv = build(workdir)
    capsys.readouterr()
    assert_one_line(*run_main(argv, capsys), expected)
    assert not (workdir / "mlflow.db").exists()  # rejected before any store was made


def test_catalogue_is_large() -> None:
    assert len(CASES) + len(STORES) >= 40


# --- stores: an existing store must read the same afterwards ---------------------------------


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose mlflow.db and optuna.db hold one finished cell of spec ``stored``."""
    folder = tmp_path_factory.mktemp("store")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        assert run_spec(parse_spec(GOOD), progress=False).finished
    return folder


def _snapshot(folder: Path) -> list[tuple]:
    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("stored").experiment_id
    runs = client.search_runs([experiment])
    return sorted((r.info.run_id, r.info.status, r.info.end_time, r.data.metrics) for r in runs)


def _holding_lock(folder: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(folder / "mlflow.db", isolation_level=None)
    connection.execute("BEGIN EXCLUSIVE")
    return connection


STORES: dict[str, tuple[Callable[[Path, Path], dict], str]] = {
    # each gives spec changes (and may set up the folder); the existing store must not change
    "store folder is a file": (
        lambda t, s: {"tracking_uri": f"sqlite:///{_file(t, 'file', b'x') / 'mlflow.db'}"},
        "check that its folder exists and is writable",
    ),
    "store unsupported scheme": (
        lambda t, s: {"tracking_uri": "ftp://127.0.0.1/mlflow"},
        "cannot use the MLflow store 'ftp://",
    ),
    "store plain folder": (lambda t, s: {"tracking_uri": str(s)}, "plain folder"),
    "store unreachable server": (
        lambda t, s: {"tracking_uri": f"http://127.0.0.1:{_closed_port()}"},
        "cannot reach the MLflow tracking server",
    ),
    "store optuna url without driver": (
        lambda t, s: {
            "tracking_uri": f"sqlite:///{s / 'mlflow.db'}",
            "optuna_storage": "mysql://nobody@127.0.0.1/optuna",
        },
        "cannot open the Optuna storage",
    ),
}


@pytest.mark.timeout(120)  # fails fast, not after minutes of retries
@pytest.mark.parametrize("name", list(STORES))
def test_bad_store_exits_2_and_leaves_the_store_intact(
    name: str, workdir: Path, store: Path, capsys: pytest.CaptureFixture
) -> None:
    before = _snapshot(store)
    setup, expected = STORES[name]
    argv = _spec(workdir, {**GOOD, **setup(workdir, store)})
    capsys.readouterr()
    assert_one_line(*run_main(argv, capsys), expected)
    assert _snapshot(store) == before


def test_locked_store_exits_2_and_reads_the_same_once_released(
    workdir: Path, store: Path, capsys: pytest.CaptureFixture
) -> None:
    """Another process holds an exclusive lock on mlflow.db while `dlvsml run` must write to it
    (the store is in WAL mode, so reading alone would still work: a new spec needs a write)."""
    before = _snapshot(store)
    spec = {**GOOD, "name": "locked-out", "tracking_uri": f"sqlite:///{store / 'mlflow.db'}"}
    argv = _spec(workdir, spec)
    lock = _holding_lock(store)
    try:
        capsys.readouterr()
        assert_one_line(*run_main(argv, capsys), "another process holds a lock on it")
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert _snapshot(store) == before


# --- inputs that look bad but must work --------------------------------------------------------


def test_utf16_csv_loads(workdir: Path) -> None:
    frame = pd.DataFrame({"city": ["Zürich", "Genève"] * 3, "target": [0, 1] * 3})
    dataset = load_dataset(f"file:{_csv(workdir, frame, 'u16.csv', encoding='utf-16')}")
    assert list(dataset.X["city"][:2]) == ["Zürich", "Genève"] and dataset.task == "binary"


@pytest.mark.timeout(180)
def test_hundred_thousand_categories_load_and_profile_quickly(
    workdir: Path, capsys: pytest.CaptureFixture
) -> None:
    rng = np.random.default_rng(0)
    n = 100_000
    frame = pd.DataFrame(
        {
            "id": [f"s{i}" for i in range(n)],
            "x": rng.normal(size=n),
            "target": rng.integers(0, 2, n),
        }
    )
    path = _csv(workdir, frame, "wide.csv")
    code, err = run_main(["profile", f"file:{path}", "--json"], capsys)
    assert code == 0, err
    assert load_dataset(f"file:{path}").categorical == ("id",)
    assert dict(load_dataset(f"file:{path}").roles)["id"] == "identifier"


# --- fuzzing: random URIs give a Dataset or a DataError ----------------------------------------

TRICKY_PATHS = [
    "",
    "/",
    ".",
    "~nosuchuser/x.csv",
    "a" * 300,
    "x\x00y",
    "/dev/null",
    "?",
    "#",
    "//h/p",
]
# Real datasets too (the builtins and a good CSV the fixture below writes), with good and bad
# queries, so the fuzz reaches the loading branch and not only the rejecting one.
REAL_URIS = st.builds(
    lambda where, query: f"{where}{query}",
    st.sampled_from(
        [
            "builtin:iris",
            "builtin:wine",
            "builtin:breast_cancer",
            "builtin:diabetes",
            "file:good.csv",
        ]
    ),
    st.sampled_from(["", "?target=label", "?target=nosuch", "?targte=label", "?task=binary"]),
)
URI_TEXT = st.one_of(
    REAL_URIS,
    st.text(max_size=40),
    st.builds(
        lambda scheme, path, query: f"{scheme}:{path}{query}",
        st.sampled_from(["file", "npz", "imagefolder", "textcsv", "builtin"]),
        st.sampled_from(TRICKY_PATHS),
        st.sampled_from(["", "?target=", "?task=binary&task=x", "?=&&"]),
    ),
    st.builds(
        lambda scheme, rest: f"{scheme}:{rest}",
        st.sampled_from(["builtin", "file", "npz", "imagefolder", "textcsv", "csv", ""]),
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30),
    ),
)


@pytest.fixture(scope="module", autouse=True)
def _empty_working_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fuzzed relative paths resolve in an empty folder, and nothing is cached in the user's."""
    folder = tmp_path_factory.mktemp("fuzz")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.setenv("DLVSML_CACHE", str(folder / "cache"))
        frame = pd.DataFrame({"x": np.arange(40.0), "label": ["a", "b"] * 20})
        frame.to_csv(folder / "good.csv", index=False)
        yield


def test_fuzzed_uris_parse_or_raise_data_error() -> None:
    outcomes = {"parsed": 0, "rejected": 0}

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(URI_TEXT)
    def check(text: str) -> None:
        try:
            parsed = parse_uri(text)
        except DataError as exc:
            outcomes["rejected"] += 1
            assert str(exc) and "\n" not in str(exc)
        else:
            outcomes["parsed"] += 1
            assert text.startswith(f"{parsed.scheme}:")

    check()
    assert outcomes["parsed"] >= 10 and outcomes["rejected"] >= 10, outcomes


def test_fuzzed_uris_load_or_raise_data_error() -> None:
    outcomes = {"loaded": 0, "rejected": 0}

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(URI_TEXT.filter(lambda t: not t.startswith(("openml:", "hf:"))))  # no network
    def check(text: str) -> None:
        try:
            dataset = load_dataset(text)
        except DataError as exc:
            outcomes["rejected"] += 1
            assert str(exc)
        else:
            outcomes["loaded"] += 1
            assert len(dataset.y) == len(dataset.X) > 0
            if text.startswith("file:good.csv"):  # the CSV's own rows and label, not another's
                assert dataset.class_names == ("a", "b") and sorted(dataset.X["x"]) == list(
                    range(40)
                )

    check()
    assert outcomes["loaded"] >= 5 and outcomes["rejected"] >= 5, outcomes
