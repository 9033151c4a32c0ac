"""Rojo projects: ``$path`` folders and files, init scripts, script suffixes, instance paths
from Luau, and one-line errors for project files that cannot be read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakeserver.luau import LuauError, LuauGame, RojoProjectError
from fakeserver.luau.rojo import load_project
from fakeserver.pytest_plugin import LuauGameFactory


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


PROJECT = {
    "name": "demo",
    "tree": {
        "$className": "DataModel",
        "ServerScriptService": {"$path": "src/server"},
        "ReplicatedStorage": {
            "Shared": {"$path": "src/shared"},
            "Config": {"$path": "config.luau"},
        },
        "ServerStorage": {"$className": "ServerStorage", "Empty": {"$className": "Folder"}},
    },
}
FILES = {
    "default.project.json": json.dumps(PROJECT),
    "config.luau": "return { region = 'eu' }",
    "src/server/Main.server.luau": "return require(script.Parent.Payments).name",
    "src/server/Payments/init.luau": "return { name = 'payments:' .. require(script.Util) }",
    "src/server/Payments/Util.lua": "return 'util'",
    "src/server/Legacy.server.lua": "return 'legacy'",
    "src/server/Ui.client.luau": "return 'client'",
    "src/server/Runner/init.server.luau": "return script.ClassName .. ':' .. script.Helper.Name",
    "src/server/Runner/Helper.module.luau": "return 1",
    "src/shared/Http.luau": "return { get = function() return 'got' end }",
    "src/shared/README.md": "not a script",
    "src/shared/Deep/Nested.luau": "return require(script.Parent.Parent.Http).get()",
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return _write(tmp_path, FILES)


def test_the_tree_follows_rojo_conventions(project: Path) -> None:
    game = load_project(project)
    kinds = {i.full_name(): i.class_name for i in game.descendants()}
    assert kinds == {
        "ServerScriptService": "ServerScriptService",
        "ServerScriptService.Main": "Script",
        "ServerScriptService.Payments": "ModuleScript",
        "ServerScriptService.Payments.Util": "ModuleScript",
        "ServerScriptService.Legacy": "Script",
        "ServerScriptService.Ui": "LocalScript",
        "ServerScriptService.Runner": "Script",
        "ServerScriptService.Runner.Helper": "ModuleScript",
        "ReplicatedStorage": "ReplicatedStorage",
        "ReplicatedStorage.Shared": "Folder",
        "ReplicatedStorage.Shared.Http": "ModuleScript",
        "ReplicatedStorage.Shared.Deep": "Folder",
        "ReplicatedStorage.Shared.Deep.Nested": "ModuleScript",
        "ReplicatedStorage.Config": "ModuleScript",
        "ServerStorage": "ServerStorage",
        "ServerStorage.Empty": "Folder",
    }


def test_scripts_reach_modules_through_instance_paths(
    project: Path, luau_game_factory: LuauGameFactory
) -> None:
    game: LuauGame = luau_game_factory(project=project)
    assert game.run_instance("ServerScriptService.Main") == "payments:util"
    assert game.run_instance("ServerScriptService.Legacy") == "legacy"
    assert game.run_instance("ServerScriptService.Runner") == "Script:Helper"
    assert game.run(
        "local RS = game:GetService('ReplicatedStorage')\n"
        "return require(RS.Shared.Deep.Nested), require(game.ReplicatedStorage.Config).region,"
        " require(RS:WaitForChild('Shared'):FindFirstChild('Http')) == require(RS.Shared.Http)"
    ) == ("got", "eu", True)
    assert game.run_file(project / "src/server/Main.server.luau") == "payments:util"


def test_a_local_script_runs_only_as_a_client(
    project: Path, luau_game_factory: LuauGameFactory
) -> None:
    server_side: LuauGame = luau_game_factory(project=project)
    with pytest.raises(LuauError, match=r"^ServerScriptService.Ui: a LocalScript, not a Script"):
        server_side.run_instance("ServerScriptService.Ui")
    client: LuauGame = luau_game_factory(project=project, client=True)
    assert client.run_instance("ServerScriptService.Ui") == "client"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("return require(script.Parent.Missing)", "Missing is not a valid member of Folder"),
        ("return require(script.Parent:WaitForChild('Missing'))", "Infinite yield: Missing"),
        ("return require(game.ServerStorage.Empty)", "require expects a ModuleScript, got Folder"),
    ],
)
def test_a_missing_module_is_one_line(
    tmp_path: Path,
    luau_game_factory: LuauGameFactory,
    source: str,
    message: str,
) -> None:
    root = _write(tmp_path, {**FILES, "src/shared/Uses.server.luau": source})
    game: LuauGame = luau_game_factory(project=root)
    with pytest.raises(LuauError) as caught:
        game.run_instance("ReplicatedStorage.Shared.Uses")
    assert str(caught.value).startswith("src/shared/Uses.server.luau:1: "), caught.value
    assert message in str(caught.value)


def test_an_error_in_a_module_names_the_module_file(
    tmp_path: Path, luau_game_factory: LuauGameFactory
) -> None:
    root = _write(tmp_path, {**FILES, "src/shared/Http.luau": "local x = nil\nreturn x.y"})
    game: LuauGame = luau_game_factory(project=root)
    with pytest.raises(LuauError, match=r"src/shared/Http\.luau:2: attempt to index nil with 'y'$"):
        game.run("return require(game.ReplicatedStorage.Shared.Http)")


def test_a_module_must_return_one_value(tmp_path: Path, luau_game_factory: LuauGameFactory) -> None:
    root = _write(tmp_path, {**FILES, "src/shared/Http.luau": "local x = 1"})
    game: LuauGame = luau_game_factory(project=root)
    with pytest.raises(LuauError, match="script:1: Module code did not return exactly one value"):
        game.run("return require(game.ReplicatedStorage.Shared.Http)")


def test_a_module_runs_once_and_a_cycle_is_an_error(
    tmp_path: Path, luau_game_factory: LuauGameFactory
) -> None:
    root = _write(
        tmp_path,
        {
            **FILES,
            "src/shared/A.luau": "return require(script.Parent.B)",
            "src/shared/B.luau": "return require(script.Parent.A)",
            "src/shared/Counter.luau": "print('loading') return {}",
        },
    )
    game: LuauGame = luau_game_factory(project=root)
    game.run("local s = game.ReplicatedStorage.Shared require(s.Counter) require(s.Counter)")
    assert game.output == ["loading"]
    with pytest.raises(LuauError, match="required recursively: ReplicatedStorage.Shared.A"):
        game.run("return require(game.ReplicatedStorage.Shared.A)")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", r"default\.project\.json:1: not a JSON project file"),
        ('{"name": "x"}', r'default\.project\.json: a Rojo project is a JSON object with a "tree"'),
        ('{"tree": {"A": {"$path": "nowhere"}}}', r"tree\.A: \"\$path\" 'nowhere' does not exist"),
        ('{"tree": {"A": {"$path": 3}}}', r'tree\.A: "\$path" must be a string'),
        ('{"tree": {"A": 3}}', r"tree\.A: a tree node must be a JSON object"),
        ('{"tree": {"A": {"$path": "notes.txt"}}}', r"is not a \.luau or \.lua script"),
    ],
)
def test_a_bad_project_file_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    (tmp_path / "default.project.json").write_text(text, encoding="utf-8")
    with pytest.raises(RojoProjectError, match=message) as caught:
        load_project(tmp_path)
    assert "\n" not in str(caught.value)


def test_a_missing_project_file_through_luau_game(
    tmp_path: Path, luau_game_factory: LuauGameFactory
) -> None:
    with pytest.raises(LuauError, match=r"default\.project\.json: cannot read the project file"):
        luau_game_factory(project=tmp_path)


def test_running_what_is_not_there_is_one_line(
    project: Path, luau_game_factory: LuauGameFactory
) -> None:
    game: LuauGame = luau_game_factory(project=project)
    with pytest.raises(LuauError, match=r"^ServerScriptService\.Nope: no such instance"):
        game.run_instance("ServerScriptService.Nope")
    with pytest.raises(LuauError, match=r"^ReplicatedStorage\.Shared: a Folder, not a Script"):
        game.run_instance("ReplicatedStorage.Shared")
    with pytest.raises(LuauError, match=r"nowhere\.luau: cannot read the script"):
        game.run_file(project / "nowhere.luau")
