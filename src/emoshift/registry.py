"""One registry of backends per component: a dict of name -> factory behind one Protocol.

    from emoshift.registry import Registry
    REWRITERS: Registry[Rewriter] = Registry("rewriter")

    @REWRITERS.register("lexical", licence="NRC lexicon: research/non-commercial")
    class LexicalRewriter: ...

    rewriter = REWRITERS.create("lexical", seed=0)

A backend whose heavy imports fail is still listed; creating it raises a
:class:`~emoshift.errors.BackendError` that says what to install.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from emoshift.errors import BackendError, ConfigError

T = TypeVar("T")


@dataclass(frozen=True)
class BackendInfo:
    name: str
    factory: Callable[..., Any]
    summary: str
    offline: bool
    default: bool


class Registry(Generic[T]):
    """Backends of one component, by name."""

    def __init__(self, component: str) -> None:
        self.component = component
        self._backends: dict[str, BackendInfo] = {}

    def register(
        self, name: str, *, summary: str = "", offline: bool = True, default: bool = False
    ) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator registering a class or factory function under ``name``."""

        def deco(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._backends:
                raise ValueError(f"{self.component} backend {name!r} registered twice")
            doc = (factory.__doc__ or "").strip().splitlines()
            self._backends[name] = BackendInfo(
                name, factory, summary or (doc[0] if doc else ""), offline, default
            )
            return factory

        return deco

    def names(self) -> list[str]:
        return sorted(self._backends)

    def info(self, name: str) -> BackendInfo:
        try:
            return self._backends[name]
        except KeyError:
            raise ConfigError(
                f"unknown {self.component} backend {name!r}; available: {', '.join(self.names())}"
            ) from None

    @property
    def default(self) -> str:
        for b in self._backends.values():
            if b.default:
                return b.name
        if not self._backends:
            raise BackendError(f"no {self.component} backend is registered")
        return next(iter(self._backends))

    def create(self, name: str | None = None, /, **kwargs: Any) -> T:
        """Instantiate backend ``name`` (the default if None) with ``kwargs``."""
        info = self.info(name or self.default)
        try:
            return info.factory(**kwargs)
        except ImportError as exc:  # a heavy optional dependency is missing
            raise BackendError(
                f"{self.component} backend {info.name!r} needs a package that is not installed "
                f"({exc.name or exc}); see docs/install.md"
            ) from exc

    def __contains__(self, name: object) -> bool:
        return name in self._backends

    def __iter__(self):
        return iter(self._backends.values())
