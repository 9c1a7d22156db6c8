"""The one user model (mqlite.security.users): `NAME:SECRET[:ROLES]`, users files, aliases."""

from __future__ import annotations

from pathlib import Path

import pytest

from mqlite.config import ConfigError, load_settings
from mqlite.security.users import User, Users, UsersError, parse_user, read_users_file


def test_user_spec_with_roles_joined_by_plus() -> None:
    assert parse_user("alice:s3cret:admin+ops") == User("alice", "s3cret", ("admin", "ops"))
    assert parse_user("alice:s3cret:admin+ops").admin


def test_user_spec_without_roles() -> None:
    assert parse_user("bob:pw") == User("bob", "pw", ())


def test_secret_with_colons_is_written_with_a_trailing_colon() -> None:
    assert parse_user("bob:pa:ss:") == User("bob", "pa:ss", ())


@pytest.mark.parametrize("spec", ["nocolon", ":pw", "bob:", "bob::admin", "bo b:pw", "a:b:bad role"])
def test_malformed_user_spec_is_refused(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_user(spec)


def test_repr_never_shows_the_secret() -> None:
    assert "s3cret" not in repr(parse_user("alice:s3cret:admin"))


def test_users_file_skips_comments_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text("# operators\nalice:pw1:admin\n\n  bob:pw2#not-a-comment  \n")
    users = read_users_file(path)
    assert [u.name for u in users] == ["alice", "bob"]
    assert users[0].admin and users[1].secret == "pw2#not-a-comment"


def test_malformed_users_file_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text("alice:pw\n# fine\nnocolon\n")
    with pytest.raises(UsersError) as info:
        read_users_file(path)
    assert str(info.value).startswith(f"users file {path}, line 3: ")
    assert "\n" not in str(info.value)


def test_missing_users_file_is_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(UsersError, match="users file .*missing"):
        read_users_file(tmp_path / "missing")


def test_flags_environment_and_toml_spell_users(tmp_path: Path) -> None:
    toml = tmp_path / "mqlite.toml"
    toml.write_text('user = ["carol:pw3:admin"]\n')
    assert load_settings({}, environ={"MQLITE_USER": "a:b,c:d:admin"}).users == ("a:b", "c:d:admin")
    assert load_settings({"user": ["x:y"]}, environ={}).users == ("x:y",)
    assert load_settings({}, environ={}, config_file=toml).users == ("carol:pw3:admin",)


def test_bad_user_in_environment_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({}, environ={"MQLITE_USER": "nocolon"})
    assert str(info.value) == "MQLITE_USER: expected NAME:SECRET[:ROLES]; an entry has no ':'"


def test_per_protocol_flags_are_aliases_of_users(tmp_path: Path) -> None:
    (tmp_path / "users").write_text("ops:pw:admin\n")
    settings = load_settings({
        "user": ["alice:pw1"], "users_file": str(tmp_path / "users"), "aws_keys": ["AKID:sk"],
        "kafka_users": ["k:kp"], "amqp_users": ["a:ap"], "redis_users": ["r:rp"], "redis_password": "dp",
    }, environ={})
    users = Users.from_settings(settings)
    assert sorted(u.name for u in users) == ["AKID", "a", "alice", "default", "k", "ops", "r"]
    assert users.by_access_key("AKID") == User("AKID", "sk")
    assert users.check("ops", "pw") == User("ops", "pw", ("admin",))
    assert users.check("ops", "wrong") is None
    assert users.check("nobody", "pw") is None


def test_one_name_with_two_secrets_is_refused() -> None:
    settings = load_settings({"user": ["alice:pw1"], "kafka_users": ["alice:other"]}, environ={})
    with pytest.raises(UsersError, match="'alice' is defined twice"):
        Users.from_settings(settings)


def test_no_user_means_auth_off() -> None:
    assert not Users.from_settings(load_settings({}, environ={})).enabled
