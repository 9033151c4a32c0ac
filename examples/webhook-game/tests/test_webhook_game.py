"""The webhook game's own server code, run offline against the fake Open Cloud.

The secrets are set the way CI sets them (``rbx-secrets apply`` with the values in environment
variables), a game server starts afterwards with the secrets as they are then, and the game's
Luau runs on it: every request it makes is answered here and checked with the values filled in.
Run with ``pytest examples/webhook-game`` (the ``luau`` extra installs the Luau VM).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fakeserver.backend.gameservers import OutgoingRequest
from fakeserver.luau import LuauError, LuauGame, Response
from fakeserver.pytest_plugin import FakeOpenCloudHandle, LuauGameFactory

GAME = Path(__file__).resolve().parents[1]
STAGING = 4_200_000_001  # rbxsecrets.toml: [environments] staging
VALUES = {
    "DISCORD_WEBHOOK": "https://discord.com/api/webhooks/1234/t0ken-0f-the-webhook",
    "PAYMENTS_KEY": "pk_test_51Hx-first",
}

pytestmark = [
    pytest.mark.fake_open_cloud(universes=[STAGING]),
    pytest.mark.luau_game(project=GAME),
]


def apply(cloud: FakeOpenCloudHandle, state: Path, values: dict[str, str], *options: str) -> str:
    """Run ``rbx-secrets apply --yes`` in the game's folder, as a CI step would."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("RBX_")}
    env.update(
        values,
        RBX_API_KEY=cloud.api_key,
        RBX_OPEN_CLOUD_URL=cloud.url,
        RBX_SECRETS_STATE_DIR=str(state),
    )
    done = subprocess.run(
        [sys.executable, "-m", "rbxsecrets_magic", "apply", "--yes", *options],
        cwd=GAME,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def services(request: OutgoingRequest) -> Response:
    """Discord answers 204; the payments API answers a receipt."""
    if request.host == "discord.com":
        return Response(204)
    charge = json.loads(request.body or "{}")
    receipt = {"id": "ch_1", "amount": charge["amount"]}
    return Response(200, {"Content-Type": "application/json"}, json.dumps(receipt))


def test_the_server_script_posts_and_charges_with_the_applied_secrets(
    fake_open_cloud: FakeOpenCloudHandle,
    luau_game_factory: LuauGameFactory,
    tmp_path: Path,
) -> None:
    apply(fake_open_cloud, tmp_path, VALUES)
    game: LuauGame = luau_game_factory(project=GAME)  # started after apply: sees both secrets
    game.respond(services)

    receipt = game.run_instance("ServerScriptService.Main")

    assert receipt == "ch_1"
    post, charge = game.requests
    # What the game sent is what the fake holds (its plaintext oracle), filled in.
    assert post.url == fake_open_cloud.plaintext("DISCORD_WEBHOOK") == VALUES["DISCORD_WEBHOOK"]
    assert post.method == "POST" and json.loads(post.body or "") == {
        "content": f"Server {game.server.id} is up"
    }
    key = fake_open_cloud.plaintext("PAYMENTS_KEY")
    assert charge.url == "https://api.payments.example/v1/charges"
    assert charge.headers["Authorization"] == f"Bearer {key}"
    assert json.loads(charge.body or "") == {"user": 1234, "amount": 499}
    # The game's output names secrets, never shows them.
    assert game.output == ["announced: true", "charged 499 cents, receipt ch_1"]


def test_a_failed_discord_post_is_a_warning_not_a_crash(
    fake_open_cloud: FakeOpenCloudHandle,
    luau_game_factory: LuauGameFactory,
    tmp_path: Path,
) -> None:
    apply(fake_open_cloud, tmp_path, VALUES)
    game: LuauGame = luau_game_factory(project=GAME)
    game.respond(lambda r: Response(500) if r.host == "discord.com" else services(r))
    game.run_instance("ServerScriptService.Main")
    assert game.output[0] == "announced: false"


def test_bind_to_close_posts_when_the_server_shuts_down(
    fake_open_cloud: FakeOpenCloudHandle,
    luau_game_factory: LuauGameFactory,
    tmp_path: Path,
) -> None:
    apply(fake_open_cloud, tmp_path, VALUES)
    game: LuauGame = luau_game_factory(project=GAME)
    game.respond(services)
    game.run_instance("ServerScriptService.Main")
    game.shut_down()
    assert json.loads(game.requests[-1].body or "")["content"].endswith("is shutting down")


def test_a_missing_secret_fails_the_script_on_one_line(luau_game: LuauGame) -> None:
    # luau_game's server started before any secret was set.
    luau_game.respond(services)
    with pytest.raises(LuauError) as caught:
        luau_game.run_instance("ServerScriptService.Main")
    assert str(caught.value) == "src/shared/Discord.luau:9: Can't find secret with given key"
    assert luau_game.requests == []


def test_a_server_keeps_its_secrets_until_it_restarts(
    fake_open_cloud: FakeOpenCloudHandle,
    luau_game_factory: LuauGameFactory,
    tmp_path: Path,
) -> None:
    apply(fake_open_cloud, tmp_path, VALUES)
    before: LuauGame = luau_game_factory(project=GAME)
    before.respond(services)

    rotated = {**VALUES, "PAYMENTS_KEY": "pk_test_51Hx-second"}
    out = apply(fake_open_cloud, tmp_path, rotated, "--restart", "--bleed-off", "10")
    assert (
        "PAYMENTS_KEY" in out
        and fake_open_cloud.plaintext("PAYMENTS_KEY") == rotated["PAYMENTS_KEY"]
    )

    # The old server drains for 10 minutes, still running the value it started with.
    assert before.server.state == "draining"
    before.run_instance("ServerScriptService.Main")
    assert before.requests[-1].headers["Authorization"] == f"Bearer {VALUES['PAYMENTS_KEY']}"

    # A server started after the restart sends the new value.
    after: LuauGame = luau_game_factory(project=GAME)
    after.respond(services)
    after.run_instance("ServerScriptService.Main")
    assert after.requests[-1].headers["Authorization"] == f"Bearer {rotated['PAYMENTS_KEY']}"

    # Once the bleed-off is over, the old server sends nothing any more.
    fake_open_cloud.fake.advance(10 * 60)
    with pytest.raises(LuauError, match="has shut down; it sends nothing"):
        before.run_instance("ServerScriptService.Main")
