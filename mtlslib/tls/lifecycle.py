"""What every background service of the package shares: ``start()``, ``stop()``, and a ``with``
block that calls them, so that a cell that fails half-way still stops its server; and, for a
service built on another (:class:`RunsOn`), the inner one's life cycle and address."""

from __future__ import annotations

from typing import TypeVar

__all__ = ["RunsOn", "Service"]

S = TypeVar("S", bound="Service")


class Service:
    """A mixin: a subclass defines :meth:`start` (returning itself) and :meth:`stop`; ``with``
    starts it on entry and stops it on exit, errors included."""

    def start(self: S) -> S:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self: S) -> S:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class RunsOn(Service):
    """A service built on another one, :attr:`inner` (an accept loop, an HTTPS service): starting,
    stopping and the address are the inner service's."""

    inner: Service

    def start(self: S) -> S:
        self.inner.start()
        return self

    def stop(self) -> None:
        self.inner.stop()

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` while running; :class:`~mtlslib.errors.ServiceStateError` otherwise."""
        return self.inner.address

    @property
    def port(self) -> int:
        return self.address[1]
