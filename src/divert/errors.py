"""Errors that name the place of bad input; the CLI turns them into one line and exit code 2."""

from __future__ import annotations


class DivertError(Exception):
    """Bad input or a bad pack: carries a one-line message that names where and what is allowed."""

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class InputError(DivertError):
    """A case, response file or command-line value is malformed or out of range."""


class PackError(DivertError):
    """A policy pack or overlay is malformed: the message names file, line and field."""
