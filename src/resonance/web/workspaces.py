"""The role workspaces of the console: each role's own objects and the forms of its
actions (posted to :mod:`resonance.web.actions` and :mod:`resonance.web.actions_registry`)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import Request

from resonance.domain.datasets import DatasetKind
from resonance.domain.errors import NotFound
from resonance.domain.industries import INDUSTRIES
from resonance.domain.orgs import Organization, Role
from resonance.domain.policies import Purpose
from resonance.domain.refs import ref_name
from resonance.domain.registry import HolderKind, ModelKind
from resonance.services import catalog, my_data, orgs, policies, registry
from resonance.services import tokens as token_service
from resonance.web.shared import Ctx, run_row, version_row


def holder_page(space: Any, request: Request, me: Organization) -> Ctx:
    """Data holder: upload (with its validation report), policies, its open review items
    (decided on the review page), the uses of its data by others, its contribution value
    (the last two from :func:`resonance.services.my_data.my_data`)."""
    mine = catalog.list_datasets(space, owner=me.name, validation=True)
    seen = my_data.my_data(space, actor=me.name)
    proposals = Counter((i.ref, i.loops[0] if i.loops else "") for i in seen.open_items)
    return "holder.html", {
        "mine": mine,
        "policies": {d.name: policies.get_policy(space, d.name) for d, _ in mine},
        "uses": [u for u in reversed(seen.uses) if u.who != me.name],
        "proposals": [(ref, run, n) for (ref, run), n in sorted(proposals.items())],
        "review_counts": seen.reviews,
        "values": seen.values,
        "kinds": [k.value for k in DatasetKind],
        "industries": INDUSTRIES,
        "purposes": [p.value for p in Purpose],
    }


def builder_page(space: Any, request: Request, me: Organization) -> Ctx:
    """Model builder: start training, loop and federated runs; my models and runs."""
    from resonance.services import evaluation, training
    from resonance.services import loop as loops
    from resonance.services.federation import STRATEGIES

    return "builder.html", {
        "strategies": list(STRATEGIES),
        "models": [version_row(v) for v in training.list_models(space) if v.created_by == me.name],
        "loops": [r.to_dict() for r in loops.list_runs(space, created_by=me.name)],
        "suites": evaluation.list_suites(space),
        "datasets": [(d, v) for d, v in catalog.list_datasets(space) if v is not None],
        "trainers": training.trainer_names(),
    }


def evaluator_page(space: Any, request: Request, me: Organization) -> Ctx:
    """Evaluator: register sealed suites; budgets used per model; runs against my suites."""
    from resonance.domain.evaluation import METRIC_DIRECTIONS
    from resonance.services import evaluation

    suites = [s for s in evaluation.list_suites(space) if s.owner == me.name]
    runs = [r for s in suites for r in evaluation.list_runs(space, suite=s.name)]
    used: dict[tuple[str, str], int] = Counter((r.suite, ref_name(r.model)) for r in runs)
    budgets = [
        {
            "suite": suite,
            "model": model,
            "used": n,
            "left": evaluation.remaining_budget(space, model_name=model, suite=suite),
        }
        for (suite, model), n in sorted(used.items())
    ]
    evaluation_sets = [
        d for d, _ in catalog.list_datasets(space, owner=me.name, kind=DatasetKind.EVALUATION)
    ]
    return "evaluator.html", {
        "suites": suites,
        "runs": [run_row(r) for r in runs],
        "budgets": budgets,
        "evaluation_sets": evaluation_sets,
        "metrics": sorted(METRIC_DIRECTIONS),
    }


def apps_page(space: Any, request: Request, me: Organization) -> Ctx:
    """Application developer: file scenario files, record landing cases."""
    return "apps.html", {
        "scenarios": [s for s in registry.list_scenarios(space) if s.owner == me.name],
        "cases": [c for c in registry.list_cases(space) if c.recorded_by == me.name],
        "models": registry.list_models(space),
        "adopters": [o.name for o in orgs.list_organizations(space)],
        "industries": INDUSTRIES,
        "model_kinds": [k.value for k in ModelKind],
    }


def scenario_page(space: Any, request: Request, me: Organization, name: str) -> Ctx:
    """One scenario file with the datasets, models and cases filed against it."""
    found = [s for s in registry.list_scenarios(space) if s.name == name]
    if not found:
        raise NotFound(f"unknown scenario {name!r}", scenario=name)
    regs = registry.registries(space)
    return "scenario.html", {
        "s": found[0],
        "datasets": [d for d in regs["specialized_datasets"] if d.get("scenario") == name],
        "models": [m for m in regs["specialized_models"] if m.get("scenario") == name],
    }


def operator_page(space: Any, request: Request, me: Organization) -> Ctx:
    """Operator: organizations, consortia, tokens, resonance spaces."""
    regs = registry.registries(space)
    return "operator.html", {
        "organizations": orgs.list_organizations(space),
        "consortia": orgs.list_consortia(space),
        "tokens": token_service.visible_tokens(space, me),
        "spaces": regs["spaces"],
        "roles": [r.value for r in Role],
        "industries": INDUSTRIES,
        "holder_kinds": [k.value for k in HolderKind],
    }
