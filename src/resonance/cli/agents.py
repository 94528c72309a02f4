"""``resonance agent ...``: the agent factory (create from a template, show, list, run, stop,
sealed episodes, evaluate, enter the registry)."""

from __future__ import annotations

from typing import Any

import typer

from resonance.cli.output import console, ctx_of, print_table, show
from resonance.domain.agents import (
    AgentLimits,
    AgentSpec,
    EnvironmentKind,
    PlannerKind,
    PlannerParams,
    Template,
    parse_tools,
)
from resonance.domain.errors import InvalidInput
from resonance.services import agents as svc

agent_app = typer.Typer(
    help="Agents built from the space's models, run under policy, evaluated on sealed episodes.",
    no_args_is_help=True,
)
episodes_app = typer.Typer(help="Sealed episode sets (evaluators).", no_args_is_help=True)
agent_app.add_typer(episodes_app, name="episodes")


def _row(s: AgentSpec) -> tuple[Any, ...]:
    return (
        s.ref,
        s.owner,
        s.scenario,
        s.template,
        ", ".join(s.model_refs),
        ", ".join(sorted(t.value for t in s.tools)),
        f"on {s.planner.on:.3g} / off {s.planner.off:.3g} x{s.planner.persistence}",
    )


@agent_app.command("create")
def create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Agent name (a new version when it exists)."),
    scenario: str = typer.Option(..., "--scenario", help="The scenario it serves."),
    template: Template = typer.Option(..., "--template", help="Scenario template."),
    model: list[str] = typer.Option(..., "--model", "-m", help="Model version it may call."),
    observe: list[str] = typer.Option([], "--observe", help="Dataset it may observe."),
    tool: list[str] = typer.Option(
        [], "--tool", help="Tool it may use (observe, predict, act, escalate); default all."
    ),
    goal: str | None = typer.Option(None, help="Its goal (default: the template's)."),
    normal: str | None = typer.Option(None, help="fault-detection: the normal class."),
    tune_on: str | None = typer.Option(
        None, "--tune-on", help="Tune thresholds on training episodes from this dataset."
    ),
    max_false: float = typer.Option(
        2.0, "--max-false", help="Tuning: false alarms per 100 fault-free hours at most."
    ),
    on: float = typer.Option(3.0, help="Alarm threshold (when not tuned)."),
    off: float = typer.Option(1.5, help="Clear threshold, <= on (when not tuned)."),
    persistence: int = typer.Option(1, help="Steps above/below a threshold to switch."),
    alpha: float = typer.Option(1.0, help="Weight of the newest score (1 = no smoothing)."),
    actions_per_hour: int = typer.Option(12, help="Actions per hour at most."),
    escalate_after: int = typer.Option(8, help="Alarmed steps before a person takes over."),
    step_minutes: float = typer.Option(15.0, help="Minutes of process time per step."),
    planner: PlannerKind = typer.Option(
        PlannerKind.RULES,
        "--planner",
        help="rules (default), or llm: the rules propose and the operator's [llm] endpoint "
        "confirms or vetoes (RES-246 without one).",
    ),
) -> None:
    """Turn a scenario plus chosen model versions into an agent spec, in one command."""
    c = ctx_of(ctx)
    spec = svc.create(
        c.space(),
        actor=c.require_actor(),
        name=name,
        scenario=scenario,
        template=template,
        models=list(model),
        observes=list(observe),
        goal=goal,
        tools=parse_tools(tool) if tool else None,
        normal=normal,
        planner=PlannerParams(on=on, off=off, persistence=persistence, alpha=alpha),
        limits=AgentLimits(actions_per_hour=actions_per_hour, escalate_after=escalate_after),
        tune=svc.TuneOptions(dataset=tune_on, max_false_per_100h=max_false) if tune_on else None,
        step_minutes=step_minutes,
        planner_kind=planner,
    )
    show(c, spec.to_dict(), lambda: console.print(f"created agent [bold]{spec.ref}[/]"))


@agent_app.command("list")
def list_(
    ctx: typer.Context,
    owner: str | None = typer.Option(None, help="Only this organization's agents."),
) -> None:
    """Agent versions."""
    c = ctx_of(ctx)
    specs = svc.list_agents(c.space(), owner=owner)
    columns = ["agent", "owner", "scenario", "template", "models", "tools", "planner"]
    show(
        c,
        [s.to_dict() for s in specs],
        lambda: print_table(f"Agents ({len(specs)})", columns, [_row(s) for s in specs]),
    )


@agent_app.command("show")
def show_(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="NAME or NAME@N"),
    card: bool = typer.Option(False, "--card", help="Print the agent's card (Markdown)."),
) -> None:
    """One agent version: its spec (or its card), runs and sealed scores."""
    c = ctx_of(ctx)
    space = c.space()
    spec = svc.get_agent(space, ref)
    if card:
        typer.echo(svc.card(space, spec.ref), nl=False)
        return
    data = spec.to_dict()
    data["runs"] = [r.to_dict() for r in svc.list_runs(space, agent=spec.name)]
    data["evaluations"] = [e.to_dict() for e in svc.evaluations(space, agent=spec.name)]
    show(c, data, lambda: typer.echo(svc.card(space, spec.ref), nl=False))


@agent_app.command("run")
def run(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="NAME or NAME@N"),
    dataset: str | None = typer.Option(None, help="Dataset to observe (default: its first)."),
    window: int = typer.Option(96, min=1, help="Newest rows to watch."),
    detach: bool = typer.Option(False, "--detach", help="Queue a job; print its id at once."),
) -> None:
    """Run the agent over the newest window of a dataset (as a job); alarms go to the
    notification sink, lasting ones to the owner's review queue."""
    from resonance.cli.jobs import run_as_job
    from resonance.domain.jobs import JobKind

    c = ctx_of(ctx)
    params = {"agent": ref, "dataset": dataset, "window": window}
    job = run_as_job(c, JobKind.AGENT_RUN, params, detach=detach)
    if job is None:
        return
    result = job.result
    show(
        c,
        result,
        lambda: console.print(
            f"run [bold]{result['run']}[/] {result['status']}: "
            f"{result['result'].get('steps')} steps, {result['result'].get('alarms')} alarms, "
            f"{result['result'].get('escalations')} escalations"
        ),
    )


@agent_app.command("stop")
def stop(ctx: typer.Context, name: str = typer.Argument(..., help="Agent name.")) -> None:
    """The kill switch: every running run of the agent stops before its next step."""
    c = ctx_of(ctx)
    runs = svc.stop(c.space(), actor=c.require_actor(), agent=name)
    show(c, {"stopped": runs}, lambda: console.print(f"stop requested for {len(runs)} run(s)"))


@agent_app.command("evaluate")
def evaluate(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="NAME or NAME@N"),
    episodes: str = typer.Option(..., "--episodes", help="Sealed episode set."),
    detach: bool = typer.Option(False, "--detach", help="Queue a job; print its id at once."),
) -> None:
    """Run the agent through a sealed episode set (as a job): task metrics only."""
    from resonance.cli.jobs import run_as_job
    from resonance.domain.jobs import JobKind

    c = ctx_of(ctx)
    job = run_as_job(c, JobKind.AGENT_EVAL, {"agent": ref, "episodes": episodes}, detach=detach)
    if job is None:
        return
    result = job.result
    m = result["metrics"]

    def human() -> None:
        console.print(f"[bold]{result['agent']}[/] on {episodes} (lower = better)")
        print_table(
            "Task metrics",
            ["metric", "value"],
            [(k, v) for k, v in m.items() if k != "tool_calls"],
        )

    show(c, result, human)


@agent_app.command("register")
def register_entry(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="NAME or NAME@N (evaluated)."),
) -> None:
    """Enter an evaluated agent in the Specialized Model/Agent list, with its scores."""
    c = ctx_of(ctx)
    entry = svc.list_in_registry(c.space(), actor=c.require_actor(), agent=ref)
    show(
        c,
        {"name": entry.name, "kind": entry.kind.value, "description": entry.description},
        lambda: console.print(f"listed [bold]{entry.name}[/]: {entry.description}"),
    )


@episodes_app.command("register")
def register_episodes(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Episode set name."),
    dataset: str | None = typer.Option(
        None, "--dataset", help="replay: your held-out dataset to replay."
    ),
    environment: EnvironmentKind = typer.Option(
        EnvironmentKind.REPLAY, "--environment", help="replay, or tep (tep-studio)."
    ),
    idv: list[int] = typer.Option([], "--idv", help="tep: a disturbance (IDV) to draw from."),
    count: int = typer.Option(40, min=1, help="Episodes."),
    length: int = typer.Option(192, min=8, help="Steps per episode."),
    seed: int = typer.Option(..., "--seed", help="Secret seed of starts and faults."),
    budget: int = typer.Option(5, min=1, help="Evaluations per builder organization."),
    fault_share: float = typer.Option(0.75, help="Share of episodes with a fault."),
    magnitude: tuple[float, float] = typer.Option(
        (2.0, 5.0), help="Fault magnitude range (units of the watched value's noise)."
    ),
) -> None:
    """Register sealed episodes (replay of your dataset, or TEP runs); builders only ever see
    their count and budget."""
    c = ctx_of(ctx)
    if not 0 <= fault_share <= 1:
        raise InvalidInput("--fault-share is 0..1")
    es = svc.register_episodes(
        c.space(),
        actor=c.require_actor(),
        name=name,
        dataset=dataset,
        count=count,
        length=length,
        seed=seed,
        budget=budget,
        fault_share=fault_share,
        magnitudes=magnitude,
        environment=environment,
        idvs=tuple(idv),
    )
    show(c, es.summary(), lambda: console.print(f"registered {len(es.episodes)} episodes"))


@episodes_app.command("list")
def list_episodes(ctx: typer.Context) -> None:
    """Sealed episode sets (counts and budgets only)."""
    c = ctx_of(ctx)
    sets = svc.list_episode_sets(c.space())
    columns = ["name", "owner", "environment", "dataset", "episodes", "budget"]
    show(
        c,
        sets,
        lambda: print_table(
            f"Episode sets ({len(sets)})", columns, [[s[k] for k in columns] for s in sets]
        ),
    )


def register(app: typer.Typer) -> None:
    """Add ``agent`` to the root app."""
    app.add_typer(agent_app, name="agent")
