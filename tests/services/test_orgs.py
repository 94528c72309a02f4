"""Organizations, consortia and the space they live in; concurrent ledger appends."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import pytest

from resonance.domain.errors import AlreadyExists, InvalidInput, NotFound, RoleRequired
from resonance.domain.orgs import ConsortiumRole, Role
from resonance.services import ledger, orgs
from resonance.services.space import CONFIG_NAME, Space


def register(space: Space, name: str, role: Role = Role.DATA_HOLDER, actor: str = "operator"):
    return orgs.register_organization(
        space, actor=actor, name=name, roles=frozenset({role}), region="Hebei"
    )


def test_the_first_organization_must_be_the_operator(tmp_path: Path) -> None:
    space = Space.init(tmp_path / "s")
    with pytest.raises(RoleRequired):
        orgs.register_organization(
            space, actor=None, name="plant", roles=frozenset({Role.DATA_HOLDER}), region="Hebei"
        )
    op = orgs.register_organization(
        space, actor=None, name="op", roles=frozenset({Role.OPERATOR}), region="Beijing"
    )
    assert op.display_name == "op"
    with pytest.raises(InvalidInput):  # later ones need an acting operator
        register(space, "plant", actor=None)  # type: ignore[arg-type]
    entry = ledger.entries(space)[0]
    assert (entry.seq, entry.action, entry.actor) == (1, "organization.registered", "op")


def test_register_and_list(space: Space) -> None:
    org = orgs.register_organization(
        space,
        actor="operator",
        name="sinosteel",
        roles=frozenset({Role.DATA_HOLDER, Role.MODEL_BUILDER}),
        region=" Beijing ",
        display_name="Sinosteel",
        central_enterprise=True,
    )
    assert org.region == "Beijing" and org.central_enterprise
    assert org in orgs.list_organizations(space)
    entry = ledger.entries(space, limit=None, object_id="sinosteel")[0]
    assert entry.payload["roles"] == ["data_holder", "model_builder"]


@pytest.mark.parametrize("name", ["Plant-A", "plant a", "-plant", "", "x" * 64, "plant\n"])
def test_bad_identifiers_are_invalid(space: Space, name: str) -> None:
    with pytest.raises(InvalidInput):
        register(space, name)


def test_only_operators_register_and_names_are_unique(space: Space) -> None:
    length = len(ledger.entries(space, limit=None))
    with pytest.raises(RoleRequired):
        register(space, "newcomer", actor="plant-a")
    with pytest.raises(NotFound):
        register(space, "newcomer", actor="ghost")
    with pytest.raises(AlreadyExists):
        register(space, "plant-a")
    with pytest.raises(InvalidInput):
        orgs.register_organization(
            space, actor="operator", name="x", roles=frozenset({Role.EVALUATOR}), region=" "
        )
    assert len(ledger.entries(space, limit=None)) == length


def test_consortium_formed_and_extended(space: Space) -> None:
    formed = orgs.form_consortium(
        space,
        actor="operator",
        name="steel-c",
        industry="steel",
        members=["plant-a:data", "builder:model,compute"],
    )
    assert [m.organization for m in formed.members] == ["plant-a", "builder"]

    grown = orgs.add_consortium_member(
        space, actor="operator", consortium="steel-c", member="plant-b:data"
    )

    assert {m.organization for m in grown.members} == {"plant-a", "plant-b", "builder"}
    builder = next(m for m in grown.members if m.organization == "builder")
    assert builder.roles == {ConsortiumRole.MODEL, ConsortiumRole.COMPUTE}
    assert orgs.list_consortia(space, industry="steel") == [grown]
    assert orgs.list_consortia(space, industry="ships") == []
    actions = [e.action for e in ledger.entries(space, limit=None, object_id="steel-c")]
    assert actions == ["consortium.formed", "consortium.member_added"]


def test_bad_consortia_change_nothing(space: Space) -> None:
    orgs.form_consortium(space, actor="operator", name="c1", industry="steel", members=[])
    length = len(ledger.entries(space, limit=None))
    bad = [
        (InvalidInput, {"name": "c2", "industry": "textiles", "members": []}),
        (InvalidInput, {"name": "c2", "industry": "steel", "members": ["plant-a"]}),
        (InvalidInput, {"name": "c2", "industry": "steel", "members": ["plant-a:cooking"]}),
        (NotFound, {"name": "c2", "industry": "steel", "members": ["plant-a:data", "ghost:data"]}),
        (AlreadyExists, {"name": "c1", "industry": "steel", "members": []}),
    ]
    for error, kwargs in bad:
        with pytest.raises(error):
            orgs.form_consortium(space, actor="operator", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(RoleRequired):
        orgs.form_consortium(space, actor="plant-a", name="c3", industry="steel", members=[])
    with pytest.raises(NotFound):
        orgs.add_consortium_member(space, actor="operator", consortium="c9", member="plant-a:data")
    orgs.add_consortium_member(space, actor="operator", consortium="c1", member="plant-a:data")
    with pytest.raises(AlreadyExists):
        orgs.add_consortium_member(space, actor="operator", consortium="c1", member="plant-a:data")
    assert [c.name for c in orgs.list_consortia(space)] == ["c1"]
    assert len(ledger.entries(space, limit=None)) == length + 1


def test_init_space_checks_the_operator_before_writing(tmp_path: Path) -> None:
    root = tmp_path / "s"
    with pytest.raises(InvalidInput):
        orgs.init_space(root, operator="Bad Name", region="Beijing")
    with pytest.raises(InvalidInput):
        orgs.init_space(root, operator="op", region="")
    assert not (root / CONFIG_NAME).exists()

    space = orgs.init_space(root, operator="op", region="Beijing", name='Plant "A" space')

    assert Space.open(root).config.name == 'Plant "A" space'
    with space.work() as w:
        assert w.tx.get_meta("default_actor") == "op"


def test_concurrent_registrations_keep_the_ledger_whole(space: Space) -> None:
    threads = 2
    start = len(ledger.entries(space, limit=None))
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def work(t: int) -> None:
        try:
            barrier.wait()
            for i in range(20):
                register(space, f"t{t}-org-{i}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()

    assert errors == []
    entries = ledger.entries(space, limit=None)
    assert len(entries) == start + 20 * threads
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    report = ledger.verify(space)
    assert report.ok and report.entries == len(entries)
    assert len(orgs.list_organizations(space)) == 6 + 20 * threads


def test_concurrent_first_registrations_make_one_operator(tmp_path: Path, db_url: str) -> None:
    space = Space.init(tmp_path / "s", db_url=db_url)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def first(i: int) -> None:
        barrier.wait()
        try:
            orgs.register_organization(
                space, actor=None, name=f"op{i}", roles=frozenset({Role.OPERATOR}), region="Hebei"
            )
            outcomes.append("registered")
        except InvalidInput:  # somebody else was first: now an operator must act
            outcomes.append("refused")

    workers = [threading.Thread(target=first, args=(i,)) for i in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sorted(outcomes) == ["refused"] * 3 + ["registered"]
    assert len(orgs.list_organizations(space)) == 1 and ledger.verify(space).ok
    space.close()
