"""Error tree.

NewsbotError
├── ConfigError        bad setting: names the key (and line); CLI exit code 2
├── SourceError        a source could not be read
│   ├── FetchError     transport: DNS, connect, timeout, HTTP status, body cap
│   └── ParseError     the bytes are not a feed / article we can read
├── StorageError       database problems (schema too new, corrupt)
└── UserError          a user asked for something that does not exist or is malformed
"""

from __future__ import annotations


class NewsbotError(Exception):
    """Base of every error newsbot raises on purpose."""


class ConfigError(NewsbotError):
    pass


class SourceError(NewsbotError):
    pass


class FetchError(SourceError):
    pass


class ParseError(SourceError):
    pass


class StorageError(NewsbotError):
    pass


class UserError(NewsbotError):
    pass
