"""Aliases (create, use, update, delete, list) and tags (tag, list, untag)."""

from __future__ import annotations

import pytest

from app.errors import (
    AlreadyExistsError,
    InvalidAliasNameError,
    NotFoundError,
    TagError,
    ValidationError,
)
from app.operations import aliases, encryption, keys, tags
from tests.unit.operations.conftest import ROOT
from tests.unit.operations.fakes import T0, FakeWorld


def new_key(world: FakeWorld) -> str:
    key_id: str = keys.create_key(world.services, ROOT, keys.CreateKeyRequest())["KeyMetadata"][
        "KeyId"
    ]
    return key_id


def key_behind(world: FakeWorld, alias_name: str) -> str:
    """The key id an alias resolves to, as Encrypt finds it."""
    result = encryption.encrypt(world.services, ROOT, encryption.EncryptRequest(alias_name, b"x"))
    return str(result["KeyId"]).rpartition("/")[2]


def listed(world: FakeWorld, **request: object) -> list[dict[str, object]]:
    result = aliases.list_aliases(world.services, ROOT, aliases.ListAliasesRequest(**request))  # type: ignore[arg-type]
    found: list[dict[str, object]] = result["Aliases"]
    return found


def test_an_alias_names_its_key_for_cryptographic_operations(world: FakeWorld) -> None:
    key_id = new_key(world)
    aliases.create_alias(world.services, ROOT, aliases.CreateAliasRequest("alias/app", key_id))
    assert key_behind(world, "alias/app") == key_id
    described = keys.describe_key(world.services, ROOT, keys.DescribeKeyRequest("alias/app"))
    assert described["KeyMetadata"]["KeyId"] == key_id
    [entry] = listed(world)
    assert entry["AliasName"] == "alias/app" and entry["TargetKeyId"] == key_id
    assert entry["CreationDate"] == T0


def test_an_alias_name_is_taken_once_per_account(world: FakeWorld) -> None:
    first, second = new_key(world), new_key(world)
    aliases.create_alias(world.services, ROOT, aliases.CreateAliasRequest("alias/app", first))
    with pytest.raises(AlreadyExistsError):
        aliases.create_alias(world.services, ROOT, aliases.CreateAliasRequest("alias/app", second))
    assert key_behind(world, "alias/app") == first


def test_bad_alias_names_and_targets_are_refused(world: FakeWorld) -> None:
    key_id = new_key(world)
    with pytest.raises(ValidationError):
        aliases.create_alias(world.services, ROOT, aliases.CreateAliasRequest("app", key_id))
    with pytest.raises(InvalidAliasNameError):  # the aws/ prefix is AWS's own
        aliases.create_alias(
            world.services, ROOT, aliases.CreateAliasRequest("alias/aws/x", key_id)
        )
    aliases.create_alias(world.services, ROOT, aliases.CreateAliasRequest("alias/a", key_id))
    with pytest.raises(ValidationError):  # an alias names a key, not another alias
        aliases.create_alias(world.services, ROOT, aliases.CreateAliasRequest("alias/b", "alias/a"))
    assert [a["AliasName"] for a in listed(world)] == ["alias/a"]


def test_update_alias_moves_it_to_another_key(world: FakeWorld) -> None:
    first, second = new_key(world), new_key(world)
    aliases.create_alias(world.services, ROOT, aliases.CreateAliasRequest("alias/app", first))
    world.clock.advance(60)
    aliases.update_alias(world.services, ROOT, aliases.UpdateAliasRequest("alias/app", second))
    assert key_behind(world, "alias/app") == second
    [entry] = listed(world)
    assert entry["LastUpdatedDate"] == T0 + 60 and entry["CreationDate"] == T0
    assert listed(world, key_id=first) == []


def test_a_deleted_alias_no_longer_resolves_and_its_key_stays(world: FakeWorld) -> None:
    key_id = new_key(world)
    aliases.create_alias(world.services, ROOT, aliases.CreateAliasRequest("alias/app", key_id))
    aliases.delete_alias(world.services, ROOT, aliases.DeleteAliasRequest("alias/app"))
    with pytest.raises(NotFoundError):
        key_behind(world, "alias/app")
    with pytest.raises(NotFoundError):
        aliases.delete_alias(world.services, ROOT, aliases.DeleteAliasRequest("alias/app"))
    assert key_behind(world, key_id) == key_id


def test_aliases_list_in_name_order_and_page(world: FakeWorld) -> None:
    key_id = new_key(world)
    for name in ("alias/c", "alias/a", "alias/b"):
        aliases.create_alias(world.services, ROOT, aliases.CreateAliasRequest(name, key_id))
    first = aliases.list_aliases(world.services, ROOT, aliases.ListAliasesRequest(limit=2))
    assert [a["AliasName"] for a in first["Aliases"]] == ["alias/a", "alias/b"]
    rest = aliases.list_aliases(
        world.services, ROOT, aliases.ListAliasesRequest(marker=first["NextMarker"])
    )
    assert [a["AliasName"] for a in rest["Aliases"]] == ["alias/c"]


def list_tags(world: FakeWorld, key_id: str) -> dict[str, str]:
    result = tags.list_resource_tags(world.services, ROOT, tags.ListResourceTagsRequest(key_id))
    return {t["TagKey"]: t["TagValue"] for t in result["Tags"]}


def test_tags_are_added_replaced_and_removed(world: FakeWorld) -> None:
    key_id = new_key(world)
    tags.tag_resource(
        world.services, ROOT, tags.TagResourceRequest(key_id, [("team", "a"), ("env", "prod")])
    )
    tags.tag_resource(world.services, ROOT, tags.TagResourceRequest(key_id, [("team", "b")]))
    assert list_tags(world, key_id) == {"team": "b", "env": "prod"}
    tags.untag_resource(world.services, ROOT, tags.UntagResourceRequest(key_id, ["env"]))
    assert list_tags(world, key_id) == {"team": "b"}


def test_reserved_duplicate_and_too_many_tags_are_refused(world: FakeWorld) -> None:
    key_id = new_key(world)
    for bad in ([("aws:owner", "x")], [("a", "1"), ("a", "2")]):
        with pytest.raises(TagError):
            tags.tag_resource(world.services, ROOT, tags.TagResourceRequest(key_id, bad))
    tags.tag_resource(
        world.services,
        ROOT,
        tags.TagResourceRequest(key_id, [(f"t{n}", "v") for n in range(tags.MAX_TAGS_PER_KEY)]),
    )
    with pytest.raises(TagError):
        tags.tag_resource(world.services, ROOT, tags.TagResourceRequest(key_id, [("one", "more")]))
    assert len(list_tags(world, key_id)) == tags.MAX_TAGS_PER_KEY
