"""Safety: servers on loopback unless asked, no code run from user files, paths reported clearly.

The source checks read the package's syntax trees, so a new `eval`, unsafe YAML load or pickle
load of a user file fails here, wherever it is written.
"""

from __future__ import annotations

import ast
import ipaddress
import subprocess
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import dlvsml
from dlvsml import dashboard
from dlvsml.cli import app
from dlvsml.data import load_dataset
from dlvsml.errors import DataError
from dlvsml.tracking import ui_command

PACKAGE = Path(dlvsml.__file__).parent
SOURCES = sorted(PACKAGE.rglob("*.py"))


def _commands(group: typer.main.TyperGroup, path: str = "dlvsml") -> dict[str, object]:
    found = {}
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            found |= _commands(command, f"{path} {name}")
        else:
            found[f"{path} {name}"] = command
    return found


def test_every_server_command_binds_loopback_by_default() -> None:
    commands = _commands(typer.main.get_command(app))
    hosts = {
        name: param.default
        for name, command in commands.items()
        for param in command.params
        if param.name == "host"
    }
    assert "dlvsml ui" in hosts  # the dashboard, at least, serves on a host
    for name, host in hosts.items():
        assert ipaddress.ip_address(host).is_loopback, f"`{name}` binds {host} by default"


def test_ui_starts_mlflow_on_loopback_without_a_shell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[tuple] = []

    class FakeServer:
        pid = 0  # no real process group: dlvsml signals none

        def __init__(self, args: list[str], **kwargs: object) -> None:
            started.append((args, kwargs))
            self.returncode: int | None = None

        def poll(self) -> int | None:
            return self.returncode

        def wait(self) -> int:
            self.returncode = 0
            return 0

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setattr(subprocess, "Popen", FakeServer)
    monkeypatch.setattr(dashboard, "answers", lambda url: True)
    result = CliRunner().invoke(app, ["ui"])
    assert result.exit_code == 0, result.output
    [(args, kwargs)] = started
    assert args == ui_command(f"sqlite:///{tmp_path / 'mlflow.db'}", "127.0.0.1", 5000)
    assert args[args.index("--host") + 1] == "127.0.0.1"
    assert not kwargs.get("shell")
    assert "http://127.0.0.1:5000/" in result.output


# Calls that run code or unpickle: never on anything a user can hand dlvsml.
FORBIDDEN_NAMES = {"eval", "exec", "compile", "__import__"}
FORBIDDEN_ATTRIBUTES = {
    ("yaml", "unsafe_load"),
    ("yaml", "full_load"),
    ("pickle", "load"),
    ("pickle", "loads"),
    ("joblib", "load"),
    ("pd", "read_pickle"),
    ("pandas", "read_pickle"),
    ("cloudpickle", "load"),
    ("cloudpickle", "loads"),
}


def _calls(path: Path) -> list[tuple[ast.Call, str, str | None]]:
    """Every call in a file as (node, called name, the name it is an attribute of)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name):
            found.append((node, node.func.id, None))
        elif isinstance(node.func, ast.Attribute):
            # a method of an expression (self.module.eval()) is not a bare builtin call
            value = node.func.value
            owner = value.id if isinstance(value, ast.Name) else "<expression>"
            found.append((node, node.func.attr, owner))
    return found


def _keyword(call: ast.Call, name: str) -> object:
    for keyword in call.keywords:
        if keyword.arg == name and isinstance(keyword.value, ast.Constant):
            return keyword.value.value
    return None


def _problems(path: Path) -> list[str]:
    problems = []
    for call, name, owner in _calls(path):
        where = f"{path.relative_to(path.parents[1])}:{call.lineno}"
        if owner is None and name in FORBIDDEN_NAMES:
            problems.append(f"{where}: {name}()")
        elif (owner, name) in FORBIDDEN_ATTRIBUTES:
            problems.append(f"{where}: {owner}.{name}()")
        elif owner == "yaml" and name == "load" and _loader(call) != "SafeLoader":
            problems.append(f"{where}: yaml.load() without SafeLoader")
        elif owner in ("np", "numpy") and name == "load" and _keyword(call, "allow_pickle"):
            # numpy refuses pickles unless asked (allow_pickle=False is its default)
            problems.append(f"{where}: np.load(allow_pickle=True)")
        elif owner == "torch" and name == "load" and _keyword(call, "weights_only") is not True:
            problems.append(f"{where}: torch.load() without weights_only=True")
        elif name in ("run", "Popen", "call", "check_output") and _keyword(call, "shell"):
            problems.append(f"{where}: subprocess with shell=True")
    return problems


def _loader(call: ast.Call) -> str | None:
    for keyword in call.keywords:
        if keyword.arg == "Loader":
            value = keyword.value
            return value.attr if isinstance(value, ast.Attribute) else getattr(value, "id", None)
    return None


def test_package_source_runs_no_code_from_user_files() -> None:
    assert len(SOURCES) > 40
    problems = [problem for path in SOURCES for problem in _problems(path)]
    assert problems == []


def test_the_source_check_catches_what_it_forbids(tmp_path: Path) -> None:
    bad = tmp_path / "probe.py"
    lines = [
        "import yaml, pickle, numpy as np, torch",
        "eval(text)",
        "yaml.load(text)",
        "yaml.load(text, Loader=yaml.SafeLoader)",
        "pickle.load(handle)",
        "np.load(path)",
        "np.load(path, allow_pickle=True)",
        "np.load(path, allow_pickle=False)",
        "torch.load(path)",
        "evaluator.eval(text)",
    ]
    bad.write_text("\n".join(lines) + "\n")
    problems = _problems(bad)
    assert [p.split(": ", 1)[1] for p in problems] == [
        "eval()",
        "yaml.load() without SafeLoader",
        "pickle.load()",
        "np.load(allow_pickle=True)",
        "torch.load() without weights_only=True",
    ]


@pytest.mark.parametrize("scheme", ["file", "npz", "textcsv"])
def test_a_missing_relative_path_is_reported_resolved(
    scheme: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError) as caught:
        load_dataset(f"{scheme}:../data/absent.csv")
    message = str(caught.value)
    assert repr(str(tmp_path.parent / "data" / "absent.csv")) in message
    assert "\n" not in message


def test_a_home_relative_path_is_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(DataError, match=repr(str(tmp_path / "absent.csv"))):
        load_dataset("file:~/absent.csv")
