"""The instance tree of a Rojo project: ``default.project.json`` and the files it maps.

Rojo's conventions, as its project format and ``src/snapshot_middleware/`` define them:

- the project's ``tree`` is a DataModel; a node's children are its keys not starting with
  ``$``; ``$className`` names the class (a child of the DataModel named after a service gets
  that service's class), ``$path`` maps a file or a folder (relative to the project file);
- a folder is a ``Folder`` of its files and subfolders, unless it holds an ``init`` script:
  ``init.server.luau`` makes it a ``Script``, ``init.client.luau`` a ``LocalScript``,
  ``init.luau`` a ``ModuleScript`` (``.lua`` works wherever ``.luau`` does);
- a file ``X.server.luau`` is a ``Script`` named ``X``, ``X.client.luau`` a ``LocalScript``,
  ``X.luau`` (or ``X.module.luau``) a ``ModuleScript``; other files are not scripts and are
  left out.

``$properties``, ``$attributes`` and ``$ignoreUnknownInstances`` do not matter to game code
run here and are ignored. A project file that is not JSON, has no ``tree``, or maps a path that
does not exist raises :class:`~fakeserver.errors.RojoProjectError`, one line naming the file
and the problem.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from ..errors import RojoProjectError

__all__ = ["SCRIPT_CLASSES", "Instance", "load_project", "plain_tree"]

#: The classes whose instances carry source code.
SCRIPT_CLASSES = ("Script", "LocalScript", "ModuleScript")

#: Services a project may map straight under the DataModel (their class is their name).
_SERVICES = (
    "HttpService",
    "Players",
    "ReplicatedFirst",
    "ReplicatedStorage",
    "RunService",
    "ServerScriptService",
    "ServerStorage",
    "StarterGui",
    "StarterPack",
    "StarterPlayer",
    "Workspace",
)
_SUFFIXES = (
    (".server.luau", "Script"),
    (".server.lua", "Script"),
    (".client.luau", "LocalScript"),
    (".client.lua", "LocalScript"),
    (".module.luau", "ModuleScript"),
    (".module.lua", "ModuleScript"),
    (".luau", "ModuleScript"),
    (".lua", "ModuleScript"),
)


class Instance:
    """One node of the tree: a name, a class, children, and for a script its source file."""

    def __init__(
        self, name: str, class_name: str, parent: Instance | None = None, path: Path | None = None
    ) -> None:
        """Create the node and attach it to ``parent`` (a later child of one name wins)."""
        self.name = name
        self.class_name = class_name
        self.path = path
        #: How errors name the script's file: relative to the project's folder.
        self.shown_path = str(path) if path is not None else None
        self.parent: Instance | None = None
        self.children: dict[str, Instance] = {}
        if parent is not None:
            self.attach(parent)

    def __repr__(self) -> str:
        """Class and full name."""
        return f"Instance({self.class_name} {self.full_name()})"

    def attach(self, parent: Instance) -> None:
        """Make this a child of ``parent``."""
        self.parent = parent
        parent.children[self.name] = self

    def full_name(self) -> str:
        """The dotted path from below the DataModel, as ``Instance:GetFullName()`` gives it."""
        names: list[str] = []
        node: Instance | None = self
        while node is not None and node.class_name != "DataModel":
            names.append(node.name)
            node = node.parent
        return ".".join(reversed(names)) or self.name

    def find(self, dotted: str) -> Instance | None:
        """The descendant at ``dotted`` (``"ServerScriptService.Webhook"``), or ``None``."""
        node: Instance | None = self
        for part in dotted.split("."):
            node = node.children.get(part) if node is not None else None
        return node

    def descendants(self) -> Iterator[Instance]:
        """Every node below this one, depth first."""
        for child in self.children.values():
            yield child
            yield from child.descendants()

    def source(self) -> str:
        """The script's source text (empty for a script without a file)."""
        if self.path is None:
            return ""
        return self.path.read_text(encoding="utf-8")


def plain_tree() -> Instance:
    """A DataModel with the empty services game code expects, for code run without a project."""
    game = Instance("Game", "DataModel")
    for service in ("ServerScriptService", "ReplicatedStorage", "ServerStorage"):
        Instance(service, service, game)
    return game


def load_project(project: str | Path) -> Instance:
    """Read a Rojo project (a ``*.project.json`` file, or a folder holding
    ``default.project.json``) into a DataModel :class:`Instance`.

    Raises
    ------
    RojoProjectError
        For a missing, unreadable or malformed project file, or a ``$path`` that does not exist.
    """
    file = Path(project)
    if file.is_dir():
        file = file / "default.project.json"
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RojoProjectError(f"{file}: cannot read the project file ({exc.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f":{exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        problem = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        raise RojoProjectError(f"{file}{where}: not a JSON project file ({problem})") from None
    if not isinstance(data, dict) or not isinstance(data.get("tree"), dict):
        raise RojoProjectError(f'{file}: a Rojo project is a JSON object with a "tree" object')
    game = Instance(str(data.get("name", "Game")), "DataModel")
    _Loader(file).fill(game, data["tree"], "tree")
    return game


class _Loader:
    """Builds instances from project nodes and folders, naming the file in every error."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.root = file.parent

    def fail(self, where: str, problem: str) -> RojoProjectError:
        """The one-line error for ``problem`` at node ``where`` of the project file."""
        return RojoProjectError(f"{self.file}: {where}: {problem}")

    def fill(self, instance: Instance, node: dict[str, object], where: str) -> None:
        """Add a project node's ``$path`` contents and child nodes to ``instance``."""
        path = node.get("$path")
        if path is not None:
            if not isinstance(path, str):
                raise self.fail(where, '"$path" must be a string')
            self.map_path(instance, self.root / path, where)
        for name, child in node.items():
            if name.startswith("$"):
                continue
            if not isinstance(child, dict):
                raise self.fail(f"{where}.{name}", "a tree node must be a JSON object")
            self.fill(self.node_instance(name, child, instance, where), child, f"{where}.{name}")

    def node_instance(
        self, name: str, node: dict[str, object], parent: Instance, where: str
    ) -> Instance:
        """The instance a tree node names: its ``$className``, a service's, or a Folder."""
        class_name = node.get("$className")
        if class_name is not None and not isinstance(class_name, str):
            raise self.fail(f"{where}.{name}", '"$className" must be a string')
        if class_name is None:
            service = parent.class_name == "DataModel" and name in _SERVICES
            class_name = name if service else "Folder"
        return Instance(name, class_name, parent)

    def map_path(self, instance: Instance, path: Path, where: str) -> None:
        """Fill ``instance`` from a file or a folder (the node's class follows the files)."""
        if not path.exists():
            relative = path.relative_to(self.root) if path.is_relative_to(self.root) else path
            raise self.fail(where, f'"$path" {str(relative)!r} does not exist')
        if path.is_file():
            kind = _script_kind(path.name)
            if kind is None:
                raise self.fail(where, f'"$path" {path.name!r} is not a .luau or .lua script')
            instance.class_name, instance.path = kind[1], path
            instance.shown_path = self.shown(path)
            return
        self.use_init(instance, path)
        for entry in sorted(path.iterdir()):
            self.add_entry(instance, entry)

    def shown(self, path: Path) -> str:
        """How errors name a file: relative to the project's folder when it is inside."""
        return (
            path.relative_to(self.root).as_posix() if path.is_relative_to(self.root) else str(path)
        )

    def use_init(self, instance: Instance, folder: Path) -> None:
        """Give ``instance`` the class and source of the folder's init script, if any."""
        init = _init_script(folder)
        if init is not None:
            instance.class_name, instance.path = init[1], init[0]
            instance.shown_path = self.shown(init[0])

    def add_entry(self, parent: Instance, entry: Path) -> None:
        """Add a file (a script) or a folder (and what it holds) found under a ``$path``."""
        if entry.is_dir():
            child = Instance(entry.name, "Folder", parent)
            self.use_init(child, entry)
            for sub in sorted(entry.iterdir()):
                self.add_entry(child, sub)
            return
        kind = _script_kind(entry.name)
        if kind is not None and kind[0] != "init":
            Instance(kind[0], kind[1], parent, entry).shown_path = self.shown(entry)


def _script_kind(file_name: str) -> tuple[str, str] | None:
    """``(instance name, class)`` for a script file name, or ``None`` for another file."""
    for suffix, class_name in _SUFFIXES:
        if file_name.endswith(suffix) and len(file_name) > len(suffix):
            return file_name[: -len(suffix)], class_name
    return None


def _init_script(folder: Path) -> tuple[Path, str] | None:
    """The folder's ``init`` script and the class it gives the folder, if it has one."""
    for suffix, class_name in _SUFFIXES:
        candidate = folder / f"init{suffix}"
        if candidate.is_file():
            return candidate, class_name
    return None
