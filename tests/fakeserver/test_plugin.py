"""The pytest plugin: the ``fake_open_cloud`` fixture, its marker and its factory."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable

import pytest
import requests
from nacl.public import PublicKey, SealedBox

from fakeserver import FakeOpenCloud
from fakeserver.pytest_plugin import FakeOpenCloudHandle


def seal(value: str, public_key: str) -> str:
    box = SealedBox(PublicKey(base64.b64decode(public_key)))
    return base64.b64encode(box.encrypt(value.encode())).decode()


def _create(
    cloud: FakeOpenCloudHandle, secret_id: str, value: str, universe_id: int | None = None
) -> requests.Response:
    universe_id = cloud.universe_id if universe_id is None else universe_id
    base = f"{cloud.url}/cloud/v2/universes/{universe_id}/secrets"
    key = requests.get(base + "/public-key", headers=cloud.headers, timeout=5).json()
    body = {"id": secret_id, "secret": seal(value, key["secret"]), "key_id": key["key_id"]}
    return requests.post(base, json=body, headers=cloud.headers, timeout=5)


def test_fixture_serves_a_fresh_fake(fake_open_cloud: FakeOpenCloudHandle) -> None:
    assert isinstance(fake_open_cloud.fake, FakeOpenCloud)
    assert fake_open_cloud.url.startswith("http://127.0.0.1:")
    assert fake_open_cloud.server is not None and fake_open_cloud.server.running
    assert isinstance(fake_open_cloud.universe_id, int)
    assert fake_open_cloud.fake.secret_ids(fake_open_cloud.universe_id) == []
    assert _create(fake_open_cloud, "plugin_secret", "pl4intext").status_code == 201
    assert fake_open_cloud.plaintext("plugin_secret") == "pl4intext"
    assert fake_open_cloud.api_key not in repr(fake_open_cloud)
    # The key is limited to the fixture's universes.
    later = fake_open_cloud.fake.add_universe().universe_id
    reply = requests.get(
        f"{fake_open_cloud.url}/cloud/v2/universes/{later}/secrets",
        headers=fake_open_cloud.headers,
        timeout=5,
    )
    assert reply.status_code == 403


def test_each_test_gets_its_own_state(fake_open_cloud: FakeOpenCloudHandle) -> None:
    # The previous test's secret is gone: a new fake, a new server.
    assert fake_open_cloud.fake.secret_ids(fake_open_cloud.universe_id) == []


@pytest.mark.fake_open_cloud(problem_status_as_number=True, universes=[31, 32])
def test_marker_passes_switches(fake_open_cloud: FakeOpenCloudHandle) -> None:
    assert fake_open_cloud.universe_ids == [31, 32]
    reply = requests.delete(
        f"{fake_open_cloud.url}/cloud/v2/universes/32/secrets/missing",
        headers=fake_open_cloud.headers,
        timeout=5,
    )
    assert reply.status_code == 404
    assert reply.json()["status"] == 404
    assert _create(fake_open_cloud, "second", "v", universe_id=32).status_code == 201
    assert fake_open_cloud.plaintext("second", universe_id=32) == "v"


def test_factory_makes_custom_fakes(
    fake_open_cloud_factory: Callable[..., FakeOpenCloudHandle],
) -> None:
    read_only = fake_open_cloud_factory(write=False, api_key="read-only-key-0123456789abcdef")
    assert read_only.api_key == "read-only-key-0123456789abcdef"
    assert _create(read_only, "nope", "v").status_code == 403

    limited = fake_open_cloud_factory(universes=2, rate_limit=(1, 60.0))
    assert len(limited.universe_ids) == 2
    url = f"{limited.url}/cloud/v2/universes/{limited.universe_id}/secrets"
    assert requests.get(url, headers=limited.headers, timeout=5).status_code == 200
    assert requests.get(url, headers=limited.headers, timeout=5).status_code == 429

    in_process = fake_open_cloud_factory(serve=False)
    assert in_process.server is None
    with pytest.raises(RuntimeError):
        in_process.url  # noqa: B018
    session = requests.Session()
    in_process.fake.mount(session)
    listed = session.get(
        f"https://apis.roblox.com/cloud/v2/universes/{in_process.universe_id}/secrets",
        headers=in_process.headers,
    )
    assert listed.status_code == 200


def test_marker_is_registered_and_errors_surface_at_teardown(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pytest
        import requests

        @pytest.mark.fake_open_cloud(problem_status_as_number=True)
        def test_passes(fake_open_cloud):
            assert fake_open_cloud.fake.problem_status_as_number

        def test_server_bug(fake_open_cloud, monkeypatch):
            def broken(*args, **kwargs):
                raise RuntimeError("bug inside the fake")
            monkeypatch.setattr(fake_open_cloud.fake.backend, "list_secrets", broken)
            url = f"{fake_open_cloud.url}/cloud/v2/universes/{fake_open_cloud.universe_id}/secrets"
            assert requests.get(url, headers=fake_open_cloud.headers).status_code == 500
        """
    )
    result = pytester.runpytest("--strict-markers", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        ["*ERROR at teardown of test_server_bug*", "*RuntimeError: bug inside the fake*"]
    )


def test_marker_arguments_without_names_are_an_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.fake_open_cloud((5, 1.0))
        def test_positional(fake_open_cloud):
            assert fake_open_cloud.fake.rate_limit == (5, 1.0)
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fake_open_cloud marker takes keyword arguments only*"])


def test_markers_listed(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.fake_open_cloud(**kwargs)*"])


@pytest.fixture
def developer_environment(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A developer's own RBX_* settings, exported before the plugin's fixtures run."""
    mine = {
        "RBX_API_KEY": "real-looking-key",
        "RBX_OAUTH_TOKEN": "real-looking-token",
        "RBX_UNIVERSE_ID": "987654321",
        "RBX_OPEN_CLOUD_URL": "https://apis.roblox.com",
    }
    for name, value in mine.items():
        monkeypatch.setenv(name, value)
    return mine


def test_the_environment_is_the_first_fakes(
    developer_environment: dict[str, str],
    fake_open_cloud_factory: Callable[..., FakeOpenCloudHandle],
) -> None:
    # Before any fake is made, none of the developer's settings is visible.
    assert not {name for name in developer_environment if name in os.environ}
    first = fake_open_cloud_factory(universes=[41, 42])
    second = fake_open_cloud_factory(universes=[43])
    assert os.environ["RBX_API_KEY"] == first.api_key != second.api_key
    assert os.environ["RBX_UNIVERSE_ID"] == "41"
    assert os.environ["RBX_OPEN_CLOUD_URL"] == first.url
    assert "RBX_OAUTH_TOKEN" not in os.environ


def test_an_unserved_fake_leaves_the_url_to_the_default(
    developer_environment: dict[str, str],
    fake_open_cloud_factory: Callable[..., FakeOpenCloudHandle],
) -> None:
    cloud = fake_open_cloud_factory(serve=False)
    assert os.environ["RBX_API_KEY"] == cloud.api_key
    assert "RBX_OPEN_CLOUD_URL" not in os.environ  # fake.mount intercepts the default URL
