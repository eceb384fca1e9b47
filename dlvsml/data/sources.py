"""Source URIs and the registry of schemes that load them.

A URI is ``scheme:path?key=value&...`` (``file:data.csv?target=label``, ``builtin:digits``).
Each scheme registers a loader with ``@source("scheme")``; adding a source never touches callers.

Example::

    @source("npz", local=True)
    def load_npz(uri: SourceURI) -> Dataset: ...
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from dlvsml.data.dataset import Dataset
from dlvsml.errors import DataError

Loader = Callable[["SourceURI"], Dataset]


@dataclass(frozen=True)
class SourceURI:
    """A parsed source URI: ``scheme``, ``path`` and query ``params``; ``text`` is as written."""

    text: str
    scheme: str
    path: str
    params: dict[str, str] = field(default_factory=dict)

    def param(self, key: str, default: str | None = None) -> str | None:
        return self.params.get(key, default)

    def local_path(self) -> Path:
        """The path as a local file, ``~`` expanded (relative paths are from the working dir).

        A path the OS cannot look up (too long, no such user for ``~user``, no permission) is a
        DataError; a missing one is left to the loader, which says so with the resolved path.
        """
        try:
            path = Path(self.path).expanduser()
            path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return path
        except (OSError, RuntimeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise DataError(f"{self.text}: cannot use the path {self.path!r} ({reason})") from None
        return path

    def check_params(self, allowed: tuple[str, ...]) -> None:
        """Reject unknown query keys, so a typo (``targte=``) is not silently ignored."""
        unknown = sorted(set(self.params) - set(allowed))
        if unknown:
            raise DataError(
                f"{self.text}: unknown option {', '.join(unknown)} for {self.scheme}: sources; "
                f"the options are {', '.join(allowed) or 'none'}"
            )


@dataclass(frozen=True)
class SourceKind:
    """A registered scheme: its loader and whether its data are local files (cache stamps)."""

    scheme: str
    loader: Loader
    local: bool


SOURCES: dict[str, SourceKind] = {}


def source(scheme: str, *, local: bool = False) -> Callable[[Loader], Loader]:
    """Register ``loader`` for URIs ``scheme:...``; ``local`` marks file-based sources."""

    def register(loader: Loader) -> Loader:
        SOURCES[scheme] = SourceKind(scheme, loader, local)
        return loader

    return register


def parse_uri(text: str) -> SourceURI:
    """Split ``scheme:path?k=v`` into its parts; unknown schemes list the known ones."""
    scheme, sep, _ = text.partition(":")
    if not sep or not scheme:
        raise DataError(
            f"{text!r} is not a source URI; write scheme:path, e.g. {'file:' + text!r} "
            f"(schemes: {', '.join(sorted(SOURCES))})"
        )
    if scheme not in SOURCES:
        raise DataError(
            f"unknown data source scheme {scheme!r} in {text!r}; "
            f"known schemes: {', '.join(sorted(SOURCES))}"
        )
    # urlsplit would read "//host" and "#" specially; only the query part matters here.
    rest = text[len(scheme) + 1 :]
    path, _, query = rest.partition("?")
    params = dict(parse_qsl(urlsplit("?" + query).query, keep_blank_values=True))
    if not path:
        raise DataError(f"{text!r} names no dataset after '{scheme}:'")
    if "\x00" in text:  # no path or name may hold one (the OS would raise ValueError)
        raise DataError(f"{text!r} holds a NUL character; remove it")
    return SourceURI(text=text, scheme=scheme, path=path, params=params)
