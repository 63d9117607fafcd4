"""Reading the settings the way systemd hands them to the units, for `youthbot doctor` and the staging test.

`EnvironmentFile=` (systemd.exec(5)): one KEY=VALUE per line; empty lines and lines starting with `#`
or `;` are ignored, and so are lines without `=` or with a key that is not a variable name; whitespace
around the key and before the value is dropped, and at the end of an unquoted value; a value in single
quotes is taken as written, one in double quotes understands backslash escapes (`\\"`, `\\\\`, `\\$`,
`` \\` ``); outside quotes a backslash takes the next character as it is, and a backslash at the end of a
line continues the value on the next line. No `$VAR` expansion, no `export`. A value may hold spaces
(COMMITTEE_HOURS): nothing is split, which is what `env $(cat … | xargs)` gets wrong.

A unit file's `[Service]` section: `Environment=` assignments (space-separated, each may be quoted),
`EnvironmentFile=` (a leading `-`: ignored when missing), `User=`, `WorkingDirectory=`, `ExecStart=`.
The files' values override `Environment=`, later files override earlier ones, as systemd does.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class EnvFileError(Exception):
    """A file that cannot be read (missing, or not readable by this user)."""


def parse_environment_file(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    lines = text.replace("\r\n", "\n").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        stripped = line.lstrip()
        if not stripped or stripped[0] in "#;":
            continue
        if "=" not in stripped:
            continue
        name, rest = stripped.split("=", 1)
        name = name.strip()
        value, i = _value(rest.lstrip(), lines, i)
        if _NAME.fullmatch(name):
            values[name] = value
    return values


def _value(rest: str, lines: list[str], i: int) -> tuple[str, int]:
    out: list[str] = []
    quote = None
    pending_space = ""  # unquoted whitespace: kept only if more follows
    while True:
        j = 0
        while j < len(rest):
            ch = rest[j]
            if quote == "'":
                if ch == "'":
                    quote = None
                else:
                    out.append(ch)
            elif quote == '"':
                if ch == '"':
                    quote = None
                elif ch == "\\" and j + 1 < len(rest):
                    j += 1
                    nxt = rest[j]
                    out.append(nxt if nxt in '"\\`$' else "\\" + nxt)
                elif ch == "\\":  # at the end of the line: continues, inside the quotes
                    break
                else:
                    out.append(ch)
            else:
                if ch in "'\"":
                    out.append(pending_space)
                    pending_space = ""
                    quote = ch
                elif ch == "\\" and j + 1 < len(rest):
                    out.append(pending_space)
                    pending_space = ""
                    j += 1
                    out.append(rest[j])
                elif ch == "\\":
                    break  # continuation
                elif ch in " \t":
                    pending_space += ch
                else:
                    out.append(pending_space)
                    pending_space = ""
                    out.append(ch)
            j += 1
        else:
            if quote is None or i >= len(lines):
                return "".join(out), i
            out.append("\n")  # a quoted value goes on over the line break
            rest, i = lines[i], i + 1
            continue
        # a backslash ended the line: the value goes on with the next line
        if i >= len(lines):
            return "".join(out), i
        rest, i = lines[i], i + 1
        if quote is None:
            rest = rest.lstrip() if not out else rest


def read_environment_file(path) -> dict[str, str]:
    path = Path(path)
    try:
        return parse_environment_file(path.read_text(encoding="utf-8"))
    except PermissionError as exc:
        raise EnvFileError(f"{path}: not readable by this user ({exc.strerror}); run doctor with sudo: "
                           "it reads the file as root and then runs its checks as the unit's User=") from exc
    except FileNotFoundError as exc:
        raise EnvFileError(f"{path}: no such file") from exc


@dataclass
class Unit:
    environment: dict[str, str] = field(default_factory=dict)  # Environment= and EnvironmentFile=, merged
    environment_files: list[str] = field(default_factory=list)
    user: str = ""
    group: str = ""
    working_directory: str = ""
    exec_start: list[str] = field(default_factory=list)
    nice: int = 0  # Nice=: the process's CPU priority (the console's is lower than the webhook's)


def read_unit(path, root: str | Path = "/") -> Unit:
    """The [Service] settings of a systemd unit file that decide a process's environment."""
    text = Path(path).read_text(encoding="utf-8")
    unit, section = Unit(), ""
    inline: dict[str, str] = {}
    files: list[tuple[str, bool]] = []
    logical: list[str] = []
    buf = ""
    for raw in text.splitlines():
        if raw.rstrip().endswith("\\"):
            buf += raw.rstrip()[:-1] + " "
            continue
        logical.append(buf + raw)
        buf = ""
    for line in logical:
        s = line.strip()
        if not s or s[0] in "#;":
            continue
        if s.startswith("[") and s.endswith("]"):
            section = s[1:-1]
            continue
        if section != "Service" or "=" not in s:
            continue
        name, value = (p.strip() for p in s.split("=", 1))
        if name == "Environment":
            for word in shlex.split(value):
                if "=" in word:
                    k, v = word.split("=", 1)
                    inline[k] = v
        elif name == "EnvironmentFile":
            files.append((value[1:], True) if value.startswith("-") else (value, False))
        elif name == "User":
            unit.user = value
        elif name == "Group":
            unit.group = value
        elif name == "WorkingDirectory":
            unit.working_directory = value.lstrip("-")
        elif name == "ExecStart":
            unit.exec_start = shlex.split(value.lstrip("@-:+!"))
        elif name == "Nice":
            unit.nice = int(value)
    unit.environment = dict(inline)
    for name, optional in files:
        where = Path(root) / name.lstrip("/") if str(root) != "/" else Path(name)
        try:
            unit.environment.update(read_environment_file(where))
        except EnvFileError:
            if not optional:
                raise
        unit.environment_files.append(str(where))
    return unit
