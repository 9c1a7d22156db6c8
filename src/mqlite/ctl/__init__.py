"""The `mqlite` commands that talk to a running server over its admin API (`ls`, `show`,
`send`, `tail`, `purge`, `delete`, `reset`, `groups`, `stats`, `export`, `import`)."""

from mqlite.ctl.commands import COMMANDS, register, run

__all__ = ["COMMANDS", "register", "run"]
