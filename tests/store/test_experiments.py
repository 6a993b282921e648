from __future__ import annotations

import pytest

from heron.entities import ViewType
from heron.exceptions import HeronException


def codes(excinfo: pytest.ExceptionInfo[HeronException]) -> str:
    return excinfo.value.error_code


def test_default_experiment_exists(store) -> None:
    default = store.get_experiment("0")
    assert default.name == "Default"
    assert default.lifecycle_stage == "active"
    assert default.artifact_location.endswith("/0")


def test_create_get_and_by_name(store) -> None:
    exp_id = store.create_experiment("exp", tags={"team": "vision"})
    exp = store.get_experiment(exp_id)
    assert exp.name == "exp"
    assert exp.tags == {"team": "vision"}
    assert exp.artifact_location.endswith(f"/{exp_id}")
    assert exp.creation_time and exp.last_update_time
    assert store.get_experiment_by_name("exp") == exp
    assert store.get_experiment_by_name("missing") is None


def test_custom_artifact_location(store) -> None:
    exp_id = store.create_experiment("custom", artifact_location="/data/custom")
    assert store.get_experiment(exp_id).artifact_location == "/data/custom"


@pytest.mark.parametrize("name", ["", "   ", None, "x" * 501])
def test_bad_names_are_refused(store, name) -> None:
    with pytest.raises(HeronException) as excinfo:
        store.create_experiment(name)
    assert codes(excinfo) == "INVALID_PARAMETER_VALUE"


def test_duplicate_name(store) -> None:
    store.create_experiment("dup")
    with pytest.raises(HeronException) as excinfo:
        store.create_experiment("dup")
    assert codes(excinfo) == "RESOURCE_ALREADY_EXISTS"


def test_missing_experiment(store) -> None:
    with pytest.raises(HeronException) as excinfo:
        store.get_experiment("12345")
    assert codes(excinfo) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(HeronException) as excinfo:
        store.get_experiment("../etc")
    assert codes(excinfo) == "INVALID_PARAMETER_VALUE"


def test_rename_and_tags(store) -> None:
    exp_id = store.create_experiment("old")
    store.create_experiment("taken")
    store.rename_experiment(exp_id, "new")
    assert store.get_experiment(exp_id).name == "new"
    with pytest.raises(HeronException):
        store.rename_experiment(exp_id, "taken")
    store.set_experiment_tag(exp_id, "k", "v1")
    store.set_experiment_tag(exp_id, "k", "v2")
    assert store.get_experiment(exp_id).tags == {"k": "v2"}
    store.delete_experiment_tag(exp_id, "k")
    assert store.get_experiment(exp_id).tags == {}
    with pytest.raises(HeronException) as excinfo:
        store.delete_experiment_tag(exp_id, "k")
    assert codes(excinfo) == "RESOURCE_DOES_NOT_EXIST"


def test_delete_restore_and_purge(store) -> None:
    exp_id = store.create_experiment("gone")
    run = store.create_run(exp_id, "me")
    store.delete_experiment(exp_id)
    assert store.get_experiment(exp_id).lifecycle_stage == "deleted"
    assert store.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    with pytest.raises(HeronException) as excinfo:
        store.create_experiment("gone")
    assert "deleted state" in excinfo.value.message
    store.restore_experiment(exp_id)
    assert store.get_run(run.info.run_id).info.lifecycle_stage == "active"
    with pytest.raises(HeronException):
        store.purge_experiment(exp_id)  # still active
    store.delete_experiment(exp_id)
    report = store.purge_experiment(exp_id)
    assert report["experiments"] == 1 and report["runs"] == 1
    with pytest.raises(HeronException):
        store.get_run(run.info.run_id)
    assert store.create_experiment("gone") != exp_id


def test_default_experiment_cannot_be_purged(store) -> None:
    store.delete_experiment("0")
    with pytest.raises(HeronException):
        store.purge_experiment("0")


def test_search_experiments(store) -> None:
    ids = [store.create_experiment(f"exp-{i}", tags={"i": str(i)}) for i in range(5)]
    store.delete_experiment(ids[0])
    active = store.search_experiments()
    assert {e.name for e in active} == {"Default", "exp-1", "exp-2", "exp-3", "exp-4"}
    newest_first = [e.creation_time for e in active]
    assert newest_first == sorted(newest_first, reverse=True)
    deleted = store.search_experiments(view_type=ViewType.DELETED_ONLY)
    assert [e.experiment_id for e in deleted] == [ids[0]]
    assert len(store.search_experiments(view_type=ViewType.ALL)) == 6
    found = store.search_experiments(filter_string="name LIKE 'exp-%' AND tags.i IN ('2', '3')")
    assert sorted(e.name for e in found) == ["exp-2", "exp-3"]
    by_name = store.search_experiments(order_by=["name ASC"], filter_string="name ILIKE 'EXP%'")
    assert [e.name for e in by_name] == ["exp-1", "exp-2", "exp-3", "exp-4"]


def test_search_experiments_pages(store) -> None:
    for i in range(7):
        store.create_experiment(f"p{i}")
    seen, token = [], None
    while True:
        page = store.search_experiments(max_results=3, page_token=token, order_by=["name"])
        seen.extend(e.name for e in page)
        token = page.token
        if not token:
            break
    assert seen == ["Default"] + [f"p{i}" for i in range(7)]


def test_ids_that_are_not_numbers_do_not_exist(store) -> None:
    with pytest.raises(HeronException) as excinfo:
        store.get_experiment("abc")
    assert codes(excinfo) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(HeronException) as excinfo:
        store.restore_experiment("abc")
    assert codes(excinfo) == "RESOURCE_DOES_NOT_EXIST"
    assert list(store.search_runs(["abc"])) == []
