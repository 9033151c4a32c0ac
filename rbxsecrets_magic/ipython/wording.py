"""How the magics word things: one-line ``UsageError``s, results, questions and advice.

Every option name and every piece of IPython advice (``%config``, ``%rbx_secret_login``) the
magics show lives here or in the magics themselves; the layers below name none.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from IPython.core.error import UsageError

from ..errors import (
    InvalidInputError,
    NotConfirmedError,
    RbxSecretsError,
    UnsetVariableError,
    ValueSource,
    ValueSourceError,
)
from ..settings import (
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_UNIVERSE_ID,
)

if TYPE_CHECKING:
    from ..operations.results import WriteRow
    from ..operations.targets import TargetError
    from ..secrets_as_code.manifest import Target

_NO_UNIVERSE = (
    "no universe configured; set one with %config RbxSecretsMagics.universe_id = 1234567, "
    f"the {ENV_UNIVERSE_ID} environment variable, or --universe 1234567 on the line"
)
_NO_KEY = (
    "no API key; run %rbx_secret_login (masked prompt, kept for this session only) or set "
    f"{ENV_API_KEY} before starting IPython/Jupyter"
)
# The options that give a value (or, for %rbx_secret_login, a key) instead of the prompt.
_SOURCE_OPTIONS = ("--from-env", "--from-file", "--from-var")
_VALUE_SOURCES = ("--from-env VAR", "--from-file PATH", "--from-var NAME")
_KEY_SOURCES = ("--from-env VAR", "--from-file PATH")
_UNIVERSE_RULE = (
    "must be a universe id, a positive whole number (the experience's Universe ID in Creator Hub)"
)


#: Each value source in the magics' option names.
_SOURCE_NAMES: dict[ValueSource, str] = {
    "env": "--from-env",
    "file": "--from-file",
    "var": "--from-var",
    "env_file": "--env-file",
}
_SET_ENV_VAR = (
    "export it before starting IPython/Jupyter (not with %env NAME=value, which keeps the value "
    "in the history), or use another source"
)


def value_problem(exc: ValueSourceError) -> str:
    """A value source's refusal in the magics' terms: their option names, IPython's advice."""
    given = f" given to {_SOURCE_NAMES[exc.source]}" if exc.source is not None else ""
    text = exc.worded(given, _SOURCE_NAMES)
    return f"{text}; {_SET_ENV_VAR}" if isinstance(exc, UnsetVariableError) else text


def target_problem(magic: str, exc: TargetError) -> str:
    """The line for a ``--universe`` (or configured universe) that cannot be resolved."""
    if exc.problem == "none":
        return _NO_UNIVERSE
    if exc.problem == "empty":
        return f"--universe is empty; give a universe id or an environment name; see %{magic}?"
    if exc.problem == "not_an_id":
        return f"{ENV_UNIVERSE_ID if exc.source == 'default' else '--universe'} {_UNIVERSE_RULE}"
    if exc.problem == "several":
        return f"--universe takes one universe here; see %{magic}?"
    if exc.manifest is None:
        return (
            f"--universe {_UNIVERSE_RULE}; environment names need a manifest (rbxsecrets.toml "
            "here, or %config RbxSecretsMagics.manifest)"
        )
    names = ", ".join(exc.known) or "none"
    return (
        "--universe takes a universe id or an environment name, and one given is neither "
        f"(environments in {exc.manifest}: {names})"
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _fail(magic: str, message: str) -> UsageError:
    # Exactly UsageError, never a subclass: only that type is shown without a traceback.
    # The magics' own phrases and the client's sentences end up in one form: a capital after
    # the prefix and a closing stop.
    text = _one_line(message)
    # Only a plain word is capitalised: a leading file name or secret id is shown as it is.
    if text.split(" ", 1)[0].rstrip(",:;.").isalpha():
        text = text[:1].upper() + text[1:]
    if not text.endswith((".", "?")):
        text += "."
    return UsageError(f"%{magic}: {text}")


def _passes(check: Callable[[str], object], text: str) -> bool:
    try:
        check(text)
    except InvalidInputError:
        return False
    return True


def _existing_path(text: str) -> bool:
    try:
        return Path(text).expanduser().exists()
    except (OSError, ValueError):
        return False


# A file name as people write them: a dotfile (.env) or a name with an extension (keys.env,
# token.txt), after folders of plain characters. Values rarely look so: tokens are long runs
# without a short letter extension, and URLs carry a colon.
_FILE_PATH = re.compile(
    r"(?:~?/|\.{1,2}/)?(?:[\w.-]{1,64}/){0,16}"
    r"(?:\.[\w-]{1,64}(?:\.[a-z][a-z0-9]{0,4})*|[\w-]{1,64}(?:\.[\w-]{1,64})*\.[a-z][a-z0-9]{0,4})"
)


def _path_like(text: str) -> bool:
    """Whether ``text`` is a path that exists, or reads as a file's path: kept, and named.

    A path is not a value: ``--env-file missing.env`` stays in the history and the message
    names it. A word that looks like neither (it may be a value typed in the wrong place)
    is still masked.
    """
    return _existing_path(text) or _FILE_PATH.fullmatch(text) is not None


def _plain_url(text: str) -> bool:
    """An http(s) URL with a valid host and no user, query or fragment (where tokens hide)."""
    from ..operations.preflight import is_plain_url

    return is_plain_url(text)


def _quoted(names: list[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def _target(universe: int) -> Target:
    from ..secrets_as_code.manifest import Target

    return Target(universe)


def _describe_set(row: WriteRow, domain_given: bool) -> str:
    domain = row.info.domain if row.info is not None else None
    where = f"domain {domain}" if domain else "private"
    if row.action == "created":
        return (
            f"Created secret '{row.id}' in universe {row.universe}: "
            f"{row.length} characters, {where}."
        )
    change = " (changed)" if domain_given else ""
    return (
        f"Updated secret '{row.id}' in universe {row.universe}: {row.length} "
        f"characters, {where}{change}. Running game servers get the new value when "
        "they restart."
    )


def _describe_delete(universe: int, rows: list[WriteRow]) -> str:
    deleted = [r.id for r in rows if r.result == "done"]
    skipped = [r.id for r in rows if r.result == "skipped"]
    if len(deleted) == 1:
        text = f"Deleted secret '{deleted[0]}' in universe {universe}."
    elif deleted:
        text = f"Deleted {len(deleted)} secrets in universe {universe}: {_quoted(deleted)}."
    else:
        text = f"Deleted nothing in universe {universe}."
    if skipped:
        text += f" Not found, skipped: {_quoted(skipped)}."
    return text


def _ask(question: str) -> bool | None:
    """Ask yes/no with ``input`` (ipykernel's, looked up now); None when nothing can ask."""
    import builtins

    from IPython.core.error import StdinNotImplementedError

    try:
        answer = builtins.input(question)
    except (StdinNotImplementedError, OSError):
        # No frontend stdin (a headless kernel), or a stdin that cannot be read.
        return None
    except (EOFError, KeyboardInterrupt):
        return False
    return answer.strip().lower() in ("y", "yes")


def _explain(exc: RbxSecretsError, magic: str) -> str:
    """The client's one-line message plus what to do in IPython terms."""
    from ..errors import AuthenticationError, NotConfirmedError, TransportError
    from ..operations.rollout import RestartOptionError
    from ..operations.writes import MissingSecretsError
    from ..render.option_words import restart_option_problem

    message = str(exc)
    if isinstance(exc, NotConfirmedError):
        return _not_confirmed(exc, magic)
    if isinstance(exc, RestartOptionError):
        return restart_option_problem(exc)
    if isinstance(exc, MissingSecretsError):
        return f"{message}; add --missing-ok to skip missing names"
    if isinstance(exc, AuthenticationError) and magic == "rbx_secret_login":
        # The key just given was refused: RBX_API_KEY is beside the point.
        message = exc.message_with(
            "The key given was not accepted (mistyped, expired or "
            "revoked?) and was not kept; check it and run "
            "%rbx_secret_login again."
        )
    elif isinstance(exc, AuthenticationError):
        message += " Or run %rbx_secret_login to enter a key for this session."
    elif isinstance(exc, TransportError) and not exc.outcome_unknown:
        # In place of the client's advice, not after it: each message gives its advice once.
        message = exc.message_with(
            "Check the network and the base URL (%config "
            f"RbxSecretsMagics.base_url or {ENV_BASE_URL})."
        )
    return message


def _not_confirmed(exc: NotConfirmedError, magic: str) -> str:
    """What was not done, and how to confirm, in the magics' terms."""
    if exc.action == "restart":
        undone = "nothing was restarted"
        if magic != "rbx_servers_restart":
            undone = "nothing was changed and nothing was restarted"
        if exc.could_ask:
            return f"restart not confirmed; {undone}"
        return (
            f"nothing can ask for confirmation here (no terminal), so {undone}; "
            "add --yes to restart without asking"
        )
    undone = "nothing was deleted" if magic == "rbx_secret_delete" else "nothing was changed"
    if exc.could_ask:
        return f"deletion not confirmed; {undone}"
    if magic == "rbx_secret_delete":
        return (
            "nothing can ask for confirmation here (no terminal), so nothing was deleted; "
            "add --yes to delete without asking"
        )
    return (
        "the plan deletes secrets and this frontend cannot ask; nothing "
        "was changed: add --yes to confirm"
    )
