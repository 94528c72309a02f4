"""``resonance review ...`` (the owner's review queue) and ``resonance my-data``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from resonance.cli.output import console, ctx_of, print_table, show
from resonance.domain.errors import InvalidInput
from resonance.domain.refs import parse_ref
from resonance.domain.review import Decision, ProposalKind, ReviewItem, ReviewStatus
from resonance.services import my_data as my_data_svc
from resonance.services import review as rv

review_app = typer.Typer(
    help="The review queue: fixes the loop proposes for your rows; accept or reject them.",
    no_args_is_help=True,
)


def _given(item: ReviewItem) -> str:
    probs = [e.given_proba for e in item.evidence if e.given_proba is not None]
    res = [e.residual for e in item.evidence if e.residual is not None]
    if probs:
        return f"p={min(probs):.2f}"
    return f"r={res[-1]:.3g}" if res else ""


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.3g}"


def _rows(items: list[ReviewItem]) -> list[tuple[Any, ...]]:
    return [
        (
            i.id,
            i.ref,
            i.row,
            i.kind.value,
            f"{i.current} → {i.proposed}" if i.proposed is not None else i.current,
            _given(i),
            i.status.value,
        )
        for i in items
    ]


_COLUMNS = ["id", "version", "row", "kind", "value → proposed", "evidence", "status"]


def _filter(
    owner: str | None,
    dataset: str | None,
    status: str | None,
    kind: str | None,
    loop: str | None,
    max_given_proba: float | None,
) -> rv.ReviewFilter:
    name, num = parse_ref(dataset) if dataset else (None, None)
    try:
        return rv.ReviewFilter(
            owner=owner,
            dataset=name or None,
            version=num,
            status=ReviewStatus(status) if status else None,
            kind=ProposalKind(kind) if kind else None,
            loop=loop,
            max_given_proba=max_given_proba,
        )
    except ValueError as exc:
        raise InvalidInput(f"bad filter: {exc}") from exc


_OWNER = typer.Option(None, help="Owner whose items to take (default: every one you may see).")
_DATASET = typer.Option(None, "--dataset", help="Dataset NAME or NAME@VERSION.")
_KIND = typer.Option(None, help="relabel, drop, fix-target or confirm-duplicate.")
_LOOP = typer.Option(None, help="Only items a loop run raised.")
_MAXP = typer.Option(
    None, help="Only items whose current label has at most this out-of-fold probability."
)


@review_app.command("list")
def list_(
    ctx: typer.Context,
    owner: str | None = _OWNER,
    dataset: str | None = _DATASET,
    status: str | None = typer.Option("open", help="open, accepted, rejected or expired."),
    kind: str | None = _KIND,
    loop: str | None = _LOOP,
    max_given_proba: float | None = _MAXP,
    limit: int | None = typer.Option(None, help="At most this many items."),
    strongest_first: bool = typer.Option(
        False, "--strongest-first", help="Most sightings, then least likely current label first."
    ),
) -> None:
    """Items you may see (yours, those of owners that delegated to you), open ones by default."""
    c = ctx_of(ctx)
    where = _filter(owner, dataset, status or None, kind, loop, max_given_proba)
    items = rv.list_items(
        c.space(),
        actor=c.require_actor(),
        where=where,
        limit=limit,
        strongest_first=strongest_first,
    )
    show(
        c,
        [i.to_dict() for i in items],
        lambda: print_table(f"Review items ({len(items)})", _COLUMNS, _rows(items)),
    )


@review_app.command("show")
def show_(ctx: typer.Context, item: str = typer.Argument(..., help="Item id (rv-...).")) -> None:
    """One item: the row's values beside the evidence."""
    c = ctx_of(ctx)
    view = rv.show(c.space(), actor=c.require_actor(), item_id=item)

    def human() -> None:
        i = view.item
        console.print(
            f"[bold]{i.id}[/] {i.kind.value} row {i.row} of {i.ref} (owner {i.owner}): "
            f"{i.current!r} → {i.proposed!r} [{i.status.value}]"
        )
        if i.reason:
            console.print(f"reason: {i.reason}")
        print_table("Row", ["column", "value"], list(view.row.items()))
        print_table(
            "Evidence",
            ["loop", "iteration", "p(current)", "p(proposed)", "residual"],
            [
                (
                    e.loop,
                    e.iteration,
                    _num(e.given_proba),
                    _num(e.suggested_proba),
                    _num(e.residual),
                )
                for e in i.evidence
            ],
        )

    show(c, view.to_dict(), human)


def _print_result(result: rv.DecideResult) -> None:
    d = result.to_dict()
    console.print(f"accepted {d['accepted']}, rejected {d['rejected']}")
    for ref in result.versions:
        console.print(f"new version {ref}")


def _decide(
    ctx: typer.Context,
    decision: Decision,
    items: list[str],
    reason: str,
    value: str | None,
    filt: rv.ReviewFilter | None,
    apply_now: bool,
) -> None:
    c = ctx_of(ctx)
    actor = c.require_actor()
    if items and filt is not None:
        raise InvalidInput("give item ids or a filter (--all / --loop / ...), not both")
    if items:
        lines = [rv.DecisionLine(i, decision, reason, value) for i in items]
        result = rv.decide_items(c.space(), actor=actor, lines=lines, apply_now=apply_now)
    elif filt is not None:
        result = rv.decide_where(
            c.space(),
            actor=actor,
            where=filt,
            decision=decision,
            reason=reason,
            apply_now=apply_now,
        )
    else:
        raise InvalidInput("name the items to decide (ids, --all, or a filter)")
    show(c, result.to_dict(), lambda: _print_result(result))


def _bulk(
    all_: bool,
    owner: str | None,
    dataset: str | None,
    kind: str | None,
    loop: str | None,
    max_given_proba: float | None,
) -> rv.ReviewFilter | None:
    if not (all_ or owner or dataset or kind or loop or max_given_proba is not None):
        return None
    return _filter(owner, dataset, None, kind, loop, max_given_proba)


_APPLY = typer.Option(True, "--apply/--no-apply", help="Make the new dataset version now.")
_ITEMS = typer.Argument(None, help="Item ids (or use a filter).")
_ALL = typer.Option(False, "--all", help="Every open item you may decide.")


@review_app.command("accept")
def accept(
    ctx: typer.Context,
    items: list[str] = _ITEMS,
    value: str | None = typer.Option(None, help="A value other than the proposed one."),
    reason: str = typer.Option("", help="Why (optional)."),
    all_: bool = _ALL,
    owner: str | None = _OWNER,
    dataset: str | None = _DATASET,
    kind: str | None = _KIND,
    loop: str | None = _LOOP,
    max_given_proba: float | None = _MAXP,
    apply_now: bool = _APPLY,
) -> None:
    """Accept items (by id, or every open one a filter takes): a new version of your dataset."""
    filt = _bulk(all_, owner, dataset, kind, loop, max_given_proba)
    _decide(ctx, Decision.ACCEPT, items or [], reason, value, filt, apply_now)


@review_app.command("reject")
def reject(
    ctx: typer.Context,
    items: list[str] = _ITEMS,
    reason: str = typer.Option(..., help="Why (required)."),
    all_: bool = _ALL,
    owner: str | None = _OWNER,
    dataset: str | None = _DATASET,
    kind: str | None = _KIND,
    loop: str | None = _LOOP,
    max_given_proba: float | None = _MAXP,
) -> None:
    """Reject items with a reason (by id, or every open one a filter takes)."""
    filt = _bulk(all_, owner, dataset, kind, loop, max_given_proba)
    _decide(ctx, Decision.REJECT, items or [], reason, None, filt, True)


@review_app.command("decide")
def decide_file(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="CSV with columns id,decision[,reason][,value]."),
    apply_now: bool = _APPLY,
) -> None:
    """Decide items from a CSV file of decisions (accept/reject per id)."""
    c = ctx_of(ctx)
    result = rv.decide_file(c.space(), actor=c.require_actor(), path=path, apply_now=apply_now)
    show(c, result.to_dict(), lambda: _print_result(result))


@review_app.command("apply")
def apply(
    ctx: typer.Context, dataset: str = typer.Argument(..., help="Your dataset's name.")
) -> None:
    """Make the new version from accepted items not applied yet (after --no-apply)."""
    c = ctx_of(ctx)
    made = rv.apply(c.space(), actor=c.require_actor(), dataset=dataset)
    data = {"version": made.ref if made else None}
    show(c, data, lambda: console.print(f"new version {made.ref}" if made else "nothing to apply"))


@review_app.command("counts")
def counts(ctx: typer.Context, loop: str | None = _LOOP) -> None:
    """Items per owner and status (what a model builder sees of the queue)."""
    c = ctx_of(ctx)
    data = rv.counts(c.space(), actor=c.require_actor(), loop=loop)
    statuses = [s.value for s in ReviewStatus]
    show(
        c,
        data,
        lambda: print_table(
            "Review items per owner",
            ["owner", *statuses],
            [(o, *(per.get(s, 0) for s in statuses)) for o, per in data.items()],
        ),
    )


@review_app.command("delegate")
def delegate(
    ctx: typer.Context,
    to: str = typer.Argument(..., help="The annotator organization."),
    revoke: bool = typer.Option(False, "--revoke", help="Take the delegation back."),
) -> None:
    """Let another organization (an annotator) see and decide your review items."""
    c = ctx_of(ctx)
    actor = c.require_actor()
    if revoke:
        done = rv.undelegate(c.space(), actor=actor, to=to)
        show(c, {"revoked": done}, lambda: console.print("revoked" if done else "none to revoke"))
        return
    d = rv.delegate(c.space(), actor=actor, to=to)
    show(c, d.__dict__, lambda: console.print(f"{d.delegate} now reviews the rows of {d.owner}"))


def my_data(
    ctx: typer.Context,
    owner: str | None = typer.Option(None, help="Another holder (operator only)."),
    uses: int = typer.Option(20, help="How many recent uses to list."),
) -> None:
    """What is done with your data: uses, models and scores, your value, open proposals."""
    c = ctx_of(ctx)
    seen = my_data_svc.my_data(c.space(), actor=c.require_actor(), owner=owner, uses=uses)

    def human() -> None:
        print_table(
            f"Datasets of {seen.owner}",
            ["dataset", "kind", "latest", "rows"],
            [(d["name"], d["kind"], d["latest"], d["rows"]) for d in seen.datasets],
        )
        print_table(
            "Recent uses",
            ["when", "who", "purpose", "version", "allowed", "for"],
            [
                (
                    u.when[:19],
                    u.who,
                    u.purpose,
                    u.version,
                    "yes" if u.allowed else "DENIED",
                    ", ".join(f"{k}={v}" for k, v in u.context.items()),
                )
                for u in seen.uses
            ],
        )
        print_table(
            "Models built on your data",
            ["model", "by", "via", "scores"],
            [
                (
                    m.model,
                    m.built_by,
                    ", ".join(m.via),
                    ", ".join(f"{s}: {v:.3f}" for s, v in m.scores.items()),
                )
                for m in seen.models
            ],
        )
        print_table(
            "Your contribution value",
            ["model", "suite", "shapley", "share", "knn-shapley"],
            [
                (
                    v.model,
                    v.suite,
                    f"{v.shapley:.4f}",
                    f"{v.share:.1%}",
                    "" if v.knn_shapley is None else f"{v.knn_shapley:.4f}",
                )
                for v in seen.values
            ],
        )
        console.print(
            "review queue: "
            + (", ".join(f"{n} {s}" for s, n in sorted(seen.reviews.items())) or "empty")
        )

    show(c, seen.to_dict(), human)


def register(app: typer.Typer) -> None:
    """Add ``resonance review ...`` and ``resonance my-data``."""
    app.add_typer(review_app, name="review")
    app.command("my-data")(my_data)
