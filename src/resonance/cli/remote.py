"""The CLI as a client of a remote space's REST API (``resonance --remote URL``).

One seam: in remote mode the root group hands every command to :func:`bind`, which keeps
the command's own options (so help and parsing are those of the local command) and
replaces what it does by the handler registered for its path in :data:`ROUTES`. A handler
maps the parsed options onto API routes and returns what the local command prints
(the same ``--format json`` output); the API's coded errors (``{"error": {code, message,
details}}``) come back as the same :class:`~resonance.domain.errors.ResonanceError` and so
the same exit status 1 and message. A command without a handler fails with ``RES-260``
naming it: nothing ever falls back to a local store.

The organization's token (``RESONANCE_TOKEN``, or the one ``resonance login --remote URL``
stored for that URL) goes as ``Authorization: Bearer``; it is never printed or logged.
TLS certificates are verified unless ``--insecure`` (self-signed test servers only).
Long work (train, loop, federate, value) is submitted as a job (202) and followed with a
progress bar until it ends, or returned at once with ``--detach``.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import httpx

from resonance.cli import credentials
from resonance.cli.output import Context, console, print_table, progress, show
from resonance.domain.errors import (
    ERROR_CATALOG,
    CredentialRequired,
    InvalidInput,
    RemoteProtocolError,
    RemoteReadIncomplete,
    RemoteUnavailable,
    RemoteUnsupported,
    ResonanceError,
)

TIMEOUT_ENV = "RESONANCE_REMOTE_TIMEOUT"
"""Seconds to wait for one answer (default :data:`DEFAULT_TIMEOUT_S`)."""

DEFAULT_TIMEOUT_S = 60.0
LONG_TIMEOUT_S = 900.0  # synchronous scoring (``eval run``) and uploads
POLL_S = 0.25
READ_CAP = 100_000  # the most rows ``GET /datasets/{ref}/rows`` returns in one answer
RECEIPT_HEADER = "x-resonance-receipt"
FINAL = ("succeeded", "failed", "cancelled")

Params = dict[str, Any]


def remote_error(status: int, body: Any, *, prefix: str = "") -> ResonanceError:
    """The domain error an API error body describes, raisable here with the same code.

    Parameters
    ----------
    status
        The HTTP status (used only when the body is not the API's error shape).
    body
        The decoded JSON body, ``{"error": {"code", "message", "details"}}``.
    prefix
        Put before the message (e.g. ``"job job-…: "``).
    """
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or str(error.get("code")) not in ERROR_CATALOG:
        return RemoteProtocolError(
            f"the remote answered HTTP {status} without a Resonance error body", status=status
        )
    spec = ERROR_CATALOG[str(error["code"])]
    cls = type("RemoteError", (ResonanceError,), {"spec": spec})
    raw = error.get("details")
    details: dict[str, Any] = raw if isinstance(raw, dict) else {}
    return cls(prefix + str(error.get("message", spec.summary)), **details)


class Remote:
    """A client of one remote space's API, acting with one organization's token.

    Parameters
    ----------
    url
        The API's base URL, e.g. ``https://space.example:8443``.
    token
        The organization's API token (sent as a bearer token, never logged).
    claimed
        ``--as ORG``: the token must be ORG's (``RES-125`` otherwise).
    insecure
        Skip TLS certificate verification (self-signed test servers only).
    timeout
        Seconds to wait for an answer (default: ``$RESONANCE_REMOTE_TIMEOUT`` or 60).
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        claimed: str | None = None,
        insecure: bool = False,
        timeout: float | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise InvalidInput(f"--remote takes an http:// or https:// URL, not {url!r}", url=url)
        self.url = url.rstrip("/")
        self.claimed = claimed
        self.receipts: list[dict[str, Any]] = []
        if timeout is None:
            try:
                timeout = float(os.environ.get(TIMEOUT_ENV) or DEFAULT_TIMEOUT_S)
            except ValueError:
                raise InvalidInput(f"{TIMEOUT_ENV} must be a number of seconds") from None
        self._http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            verify=not insecure,
            follow_redirects=False,
        )
        self._me: dict[str, Any] | None = None

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; a non-2xx answer raises its coded error.

        Raises
        ------
        RemoteUnavailable
            The API could not be reached, timed out, or its certificate did not verify.
        ResonanceError
            The API's own coded error (same code, message and details).
        """
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise RemoteUnavailable(
                f"{self.url} did not answer {method} {path} in time ({type(exc).__name__}); "
                f"raise {TIMEOUT_ENV} for slow work",
                url=self.url,
            ) from None
        except httpx.HTTPError as exc:  # refused, DNS, TLS: the message never holds the token
            raise RemoteUnavailable(f"cannot reach {self.url}: {exc}", url=self.url) from None
        header = response.headers.get(RECEIPT_HEADER)
        if header:
            # receipts are a convenience: a bad header never hides the answer itself
            with contextlib.suppress(ValueError):
                self.receipts.extend(json.loads(base64.urlsafe_b64decode(header.encode())))
        if response.status_code >= 400:
            raise remote_error(response.status_code, _body(response))
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """A request whose answer is JSON; that JSON."""
        response = self.send(method, path, **kwargs)
        body = _body(response)
        if body is _NOT_JSON:
            raise RemoteProtocolError(
                f"{method} {path} did not answer JSON (is {self.url} a Resonance API?)",
                url=self.url,
            )
        return body

    def get(self, path: str, **params: Any) -> Any:
        """``GET path?params`` (None values left out); the JSON answer."""
        return self.json("GET", path, params=_query(params))

    def me(self) -> dict[str, Any]:
        """The organization the token belongs to (``GET /organizations/me``), asked once."""
        if self._me is None:
            self._me = dict(self.get("/organizations/me"))
        return self._me

    def actor(self) -> str:
        """The acting organization's name; ``--as ORG`` must be the token's organization.

        Raises
        ------
        CredentialRequired
            The token is another organization's than ``--as`` names.
        """
        name = str(self.me()["name"])
        if self.claimed and name != self.claimed:
            raise CredentialRequired(
                f"the token given is {name}'s, not {self.claimed}'s: `resonance login "
                f"--remote {self.url}` stores an organization's token, RESONANCE_TOKEN gives one",
                organization=self.claimed,
            )
        return name


_NOT_JSON = object()


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return _NOT_JSON


def _query(params: Params) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


# --- what a command prints ------------------------------------------------------------


@dataclass
class Shown:
    """What a remote command prints: ``data`` as JSON, or for people a table or a line."""

    data: Any
    title: str = ""
    columns: tuple[str, ...] = ()
    text: str | None = None
    exit_code: int = 0
    table: list[dict[str, Any]] | None = field(default=None, repr=False)

    def human(self) -> None:
        """Render for people: the line, else a table of the listed columns or of the fields
        (of ``table`` when given: rows flattened for people, the JSON left as the API's)."""
        items = self.table if self.table is not None else self.data
        if self.text is not None:
            console.print(self.text, highlight=False)
        elif isinstance(items, list):
            cols = self.columns or (tuple(items[0]) if items else ())
            rows = [[_cell(item.get(c)) for c in cols] for item in items]
            print_table(self.title, list(cols), rows)
        elif isinstance(items, dict):
            keys = self.columns or tuple(items)
            print_table(self.title, ["field", "value"], [(k, _cell(items.get(k))) for k in keys])
        else:
            console.print("none" if items is None else str(items))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict | list):
        text = json.dumps(value, default=str)
        return text if len(text) <= 60 else text[:57] + "…"
    return str(value)


Handler = Callable[[Remote, Context, Params], Shown]
ROUTES: dict[str, Handler] = {}
"""Command path (``"dataset list"``) -> what it does against the API."""


def route(*paths: str) -> Callable[[Handler], Handler]:
    """Register a handler for these command paths."""

    def add(handler: Handler) -> Handler:
        for path in paths:
            ROUTES[path] = handler
        return handler

    return add


# --- the seam ----------------------------------------------------------------------------


def bind(command: click.Command, path: str) -> click.Command:
    """A copy of ``command`` (a group: of its sub-commands too) that runs against the API.

    Options, arguments and help stay the local command's; the callback becomes
    :func:`dispatch` of the command's path.
    """
    new = copy.copy(command)
    if isinstance(command, click.Group):
        assert isinstance(new, click.Group)
        new.commands = {n: bind(sub, f"{path} {n}") for n, sub in command.commands.items()}
        return new

    def run(**params: Any) -> None:
        dispatch(path, params)

    new.callback = run
    return new


def dispatch(path: str, params: Params) -> None:
    """Run command ``path`` against the remote API with its parsed ``params``.

    Raises
    ------
    RemoteUnsupported
        No handler for ``path``: the command needs the space's store.
    """
    c = click.get_current_context().find_root().obj
    assert isinstance(c, Context) and c.remote
    c.command = path
    if path in CREDENTIAL_ROUTES:
        out = CREDENTIAL_ROUTES[path](c, params)
        show(c, out.data, out.human)
        return
    handler = ROUTES.get(path)
    if handler is None:
        raise RemoteUnsupported(
            f"`resonance {path}` does not run against a remote space ({c.remote}); "
            f"remote commands: {', '.join(commands())}",
            command=path,
            remote=c.remote,
        )
    client = c.client()
    try:
        if c.claimed:
            c.require_actor()  # the token must be --as ORG's before anything is done
        out = handler(client, c, params)
    finally:
        client.close()
    show(c, out.data, out.human)
    if out.exit_code:
        raise click.exceptions.Exit(out.exit_code)


def unsupported(c: Context, what: str) -> RemoteUnsupported:
    """The error for an option of a command that has no remote form."""
    return RemoteUnsupported(
        f"`resonance {c.command}` with {what} does not run against a remote space "
        f"({c.remote}): run it on the space's machine",
        command=c.command,
        remote=c.remote,
    )


# --- credentials -------------------------------------------------------------------------


def login(c: Context, url: str, token: str, *, insecure: bool = False) -> Shown:
    """``resonance login --remote URL``: check the token against the API, store it for URL."""
    token = token.strip()
    client = Remote(url, token, insecure=insecure or c.insecure)
    try:
        name = str(client.me()["name"])
    finally:
        client.close()
    if c.claimed and c.claimed != name:
        raise InvalidInput(f"the token is {name}'s, not {c.claimed}'s", organization=c.claimed)
    where = credentials.remote_key(url)
    path = credentials.store_token(where, name, token)
    data = {"organization": name, "space": where, "stored_in": str(path)}
    return Shown(data, text=f"logged in to {where} as {name} ({path})")


def logout(c: Context, url: str, *, all_: bool) -> Shown:
    """``resonance logout`` in remote mode: forget the token(s) stored for URL."""
    stored = credentials.stored_tokens(url)
    who = None if all_ else c.claimed or (next(iter(stored)) if len(stored) == 1 else None)
    if who is None and not all_:
        raise InvalidInput("say whose token to forget: --as ORG (or --all)")
    gone = credentials.forget(url, who)
    return Shown({"forgotten": gone}, text=f"forgotten: {', '.join(gone) or 'none'}")


CREDENTIAL_ROUTES: dict[str, Callable[[Context, Params], Shown]] = {
    "login": lambda c, p: login(c, p.get("remote") or c.remote or "", p["token"]),
    "logout": lambda c, p: logout(c, c.remote or "", all_=bool(p.get("all_"))),
}
"""Commands that handle the token itself: they run without a client acting with one."""


@route("whoami")
def _whoami(r: Remote, c: Context, p: Params) -> Shown:
    data = {"organization": r.actor(), "mode": "token"}
    return Shown(data, text=f"{data['organization']} (token, {r.url})")


@route("org list")
def _org_list(r: Remote, c: Context, p: Params) -> Shown:
    return Shown(r.get("/organizations"), "Organizations", ("name", "role", "region"))


# --- jobs --------------------------------------------------------------------------------


def follow(r: Remote, job: dict[str, Any]) -> dict[str, Any]:
    """Follow a job with a progress bar until it ends; the succeeded job.

    Raises
    ------
    ResonanceError
        The coded error a failed or cancelled job recorded (same code as locally).
    """
    job_id = str(job["id"])
    label = f"{job.get('kind', 'job')} {job_id}"
    with progress(label, total=100) as advance:
        shown = 0.0
        while job.get("status") not in FINAL:
            time.sleep(POLL_S)
            try:
                job = r.get(f"/jobs/{job_id}")
            except RemoteUnavailable as exc:  # the job goes on in the space: say how to find it
                raise RemoteUnavailable(
                    f"{exc.message}; job {job_id} goes on: `resonance job watch {job_id}`",
                    job=job_id,
                    **exc.details,
                ) from None
            step = float(job.get("progress") or 0.0) * 100 - shown
            advance(step, description=f"{label}: {job.get('message') or job.get('status')}")
            shown += step
    if job["status"] != "succeeded":
        error = job.get("error") or {
            "code": "RES-000",
            "message": job["status"],
            "details": {},
        }
        raise remote_error(200, {"error": error}, prefix=f"job {job_id}: ")
    return job


def submitted(job: dict[str, Any]) -> Shown:
    """What ``--detach`` prints: the queued job."""
    return Shown(job, text=f"queued [bold]{job['id']}[/] ({job.get('kind')})")


_JOB_COLUMNS = ("id", "kind", "organization", "status", "progress", "message", "created_at")


@route("job list")
def _job_list(r: Remote, c: Context, p: Params) -> Shown:
    items = r.get(
        "/jobs",
        status=p.get("status"),
        kind=p.get("kind"),
        organization=p.get("organization"),
        limit=min(int(p.get("limit") or 100), 1000),
    )
    return Shown(items, "Jobs", _JOB_COLUMNS)


@route("job show")
def _job_show(r: Remote, c: Context, p: Params) -> Shown:
    return Shown(r.get(f"/jobs/{p['job_id']}"), "Job", (*_JOB_COLUMNS, "result", "error"))


@route("job watch")
def _job_watch(r: Remote, c: Context, p: Params) -> Shown:
    job = follow(r, r.get(f"/jobs/{p['job_id']}"))
    return Shown(job, "Job", (*_JOB_COLUMNS, "result"))


@route("job cancel")
def _job_cancel(r: Remote, c: Context, p: Params) -> Shown:
    job = r.json("POST", f"/jobs/{p['job_id']}/cancel")
    return Shown(job, text=f"{job['id']}: {job['status']}")


@route("job submit")
def _job_submit(r: Remote, c: Context, p: Params) -> Shown:
    try:
        body = json.loads(p["params"])
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"--params is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise InvalidInput("--params must be a JSON object")
    job = r.json("POST", f"/jobs/{p['kind']}", json=body)
    if p.get("detach"):
        return submitted(job)
    return Shown(follow(r, job), "Job", (*_JOB_COLUMNS, "result"))


# --- datasets ----------------------------------------------------------------------------

_DATASET_COLUMNS = ("name", "owner", "kind", "industry", "latest", "rows")


@route("dataset list")
def _dataset_list(r: Remote, c: Context, p: Params) -> Shown:
    items = r.get("/datasets", owner=p.get("owner"), kind=p.get("kind"), industry=p.get("industry"))
    return Shown(items, "Catalog", _DATASET_COLUMNS)


@route("dataset show")
def _dataset_show(r: Remote, c: Context, p: Params) -> Shown:
    data = r.get(f"/datasets/{p['name']}")
    return Shown(data, str(p["name"]), ("name", "owner", "kind", "industry", "versions"))


@route("dataset lineage")
def _dataset_lineage(r: Remote, c: Context, p: Params) -> Shown:
    return Shown(r.get(f"/datasets/{p['ref']}/lineage"), f"Lineage of {p['ref']}")


def _label_fields(p: Params) -> dict[str, Any]:
    return _query(
        {
            "label": p.get("label"),
            "label_onehot": p.get("label_onehot"),
            "group_key": p.get("group_key"),
            "task": p.get("task"),
        }
    )


def _upload(path: Path, fmt: str | None) -> tuple[str, Any]:
    """The multipart file part for ``path`` (its name's suffix tells the server the format)."""
    if not path.is_file():
        raise InvalidInput(f"no such file: {path}", path=str(path))
    name = path.name
    if fmt:
        if fmt not in ("csv", "parquet"):
            raise InvalidInput(f"--file-format is csv or parquet, not {fmt!r}")
        name = f"{path.stem}.{fmt}"
    return name, path.open("rb")


@route("dataset ingest")
def _dataset_ingest(r: Remote, c: Context, p: Params) -> Shown:
    name, handle = _upload(Path(p["path"]), p.get("fmt"))
    form = {
        **_label_fields(p),
        **_query(
            {
                "kind": p.get("kind"),
                "industry": p.get("industry"),
                "scenario": p.get("scenario"),
                "time_column": p.get("time_column"),
                "description": p.get("description") or None,
            }
        ),
    }
    with handle, progress(f"uploading {name}"):
        result = r.json(
            "POST",
            f"/datasets/{p['name']}/versions",
            files={"file": (name, handle, "application/octet-stream")},
            data=form,
            timeout=LONG_TIMEOUT_S,
        )
    verb = "stored" if result.get("created") else "unchanged (identical content)"
    text = f"[green]{result.get('ref')}[/] {verb}: {result.get('rows', 0):,} rows"
    return Shown(result, text=text)


@route("dataset validate")
def _dataset_validate(r: Remote, c: Context, p: Params) -> Shown:
    name, handle = _upload(Path(p["path"]), None)
    with handle:
        report = r.json(
            "POST",
            "/datasets/validate",
            files={"file": (name, handle, "application/octet-stream")},
            data=_label_fields(p),
            timeout=LONG_TIMEOUT_S,
        )
    return Shown(
        report,
        f"Validation: {report.get('rows', 0):,} rows",
        ("rows", "errors", "warnings"),
        exit_code=0 if report.get("ok", not report.get("errors")) else 1,
    )


@route("dataset read")
def _dataset_read(r: Remote, c: Context, p: Params) -> Shown:
    """Rows leave the space only under a ``download`` grant: the API decides and records it."""
    out = Path(p["out"])
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise InvalidInput(f"write to a .csv or .parquet file, not {out.name!r}", out=str(out))
    if not out.parent.is_dir():  # checked before the read is authorized and recorded
        raise InvalidInput(f"no such folder: {out.parent}", out=str(out))
    params = {"purpose": p.get("purpose") or "download", "format": "csv", "limit": READ_CAP}
    response = r.send("GET", f"/datasets/{p['ref']}/rows", params=params, timeout=LONG_TIMEOUT_S)
    ref = response.headers.get("x-resonance-ref", str(p["ref"]))
    total = int(response.headers.get("x-resonance-rows", "-1"))
    returned = int(response.headers.get("x-resonance-returned", "-1"))
    if total < 0 or returned < 0:
        raise RemoteProtocolError("the rows came without their count (an older server?)")
    if returned < total:
        raise RemoteReadIncomplete(
            f"{ref} holds {total:,} rows; one API read returns at most {READ_CAP:,}: "
            "read it on the space's machine",
            ref=ref,
            rows=total,
            cap=READ_CAP,
        )
    tmp = out.with_name(f".{out.name}.part")
    try:
        tmp.write_bytes(response.content)
        if suffix != ".csv":  # the server sends CSV; Parquet is written here
            import pyarrow.csv as pcsv
            import pyarrow.parquet as pq

            pq.write_table(pcsv.read_csv(tmp), out)
            tmp.unlink()
        else:
            os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InvalidInput(f"cannot write {out}: {exc}", out=str(out)) from exc
    data = {"ref": ref, "rows": total, "out": str(out)}
    return Shown(data, text=f"wrote {total:,} rows of {ref} to {out}")


# --- policies ----------------------------------------------------------------------------

_GRANT_COLUMNS = ("organization", "purposes", "until")


def _policy_shown(policy: dict[str, Any] | None, dataset: str) -> Shown:
    if policy is None:
        return Shown(None, text=f"{dataset}: no policy set (only the owner may use it)")
    return Shown(
        policy,
        f"{dataset} policy v{policy.get('version')} set by {policy.get('set_by')}",
        _GRANT_COLUMNS,
        table=list(policy.get("grants") or []),
    )


@route("policy show")
def _policy_show(r: Remote, c: Context, p: Params) -> Shown:
    return _policy_shown(r.get(f"/policies/{p['dataset']}")["policy"], p["dataset"])


@route("policy set")
def _policy_set(r: Remote, c: Context, p: Params) -> Shown:
    body = {"grants": list(p.get("grant") or ()), "allow_auto_drop": bool(p.get("allow_auto_drop"))}
    return _policy_shown(r.json("PUT", f"/policies/{p['dataset']}", json=body), p["dataset"])


@route("policy history")
def _policy_history(r: Remote, c: Context, p: Params) -> Shown:
    return Shown(r.get(f"/policies/{p['dataset']}/history"), f"Policies of {p['dataset']}")


@route("policy check")
def _policy_check(r: Remote, c: Context, p: Params) -> Shown:
    data = r.get(f"/policies/{p['dataset']}/check", organization=p["org"], purpose=p["purpose"])
    return Shown(data, text=f"{data['effect']} ({data['rule']}): {data['reason']}")


# --- models, evaluation, loop, federation, valuation ------------------------------------

_MODEL_COLUMNS = ("ref", "created_by", "datasets", "metrics")


def _time_fields(p: Params) -> dict[str, Any]:
    return {
        "lag_columns": list(p.get("lag_column") or ()),
        "lags": list(p.get("lag") or ()),
        "windows": list(p.get("window") or ()),
    }


def _model_params(p: Params) -> dict[str, Any]:
    from resonance.domain.modeling import parse_params  # pure domain: no heavy import

    return parse_params(list(p.get("param") or ()))


def _model(r: Remote, ref: str) -> Shown:
    model = r.get(f"/models/{ref}")
    hold = (model.get("metrics") or {}).get("holdout", {})
    figures = ", ".join(f"{k}={v:.3f}" for k, v in hold.items() if isinstance(v, float))
    return Shown(model, text=f"[green]{model['ref']}[/]: {figures}")


@route("model train")
def _model_train(r: Remote, c: Context, p: Params) -> Shown:
    body = {
        "name": p["name"],
        "trainer": p["trainer"],
        "task": p.get("task"),
        "datasets": list(p["dataset"]),
        "params": _model_params(p),
        "exclude": list(p.get("exclude") or ()),
        "features": list(p.get("feature") or ()) or None,
        "seed": p.get("seed", 0),
        "scenario": p.get("scenario"),
        **_time_fields(p),
    }
    job = r.json("POST", "/jobs/train", json=body)
    if p.get("detach"):
        return submitted(job)
    return _model(r, str(follow(r, job)["result"]["model"]))


@route("model list")
def _model_list(r: Remote, c: Context, p: Params) -> Shown:
    return Shown(r.get("/models", name=p.get("name")), "Models", _MODEL_COLUMNS)


@route("model show")
def _model_show(r: Remote, c: Context, p: Params) -> Shown:
    return _model(r, str(p["ref"]))


def _write(out: Path, text: str) -> None:
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot write {out}: {exc}", out=str(out)) from exc


@route("model card")
def _model_card(r: Remote, c: Context, p: Params) -> Shown:
    ref = str(p["ref"])
    text = r.send("GET", f"/models/{ref}/card").text
    if p.get("out") is None:
        return Shown({"ref": ref, "markdown": text}, text=text)
    out = Path(p["out"])
    _write(out, text)
    data = {"ref": ref, "out": str(out), "bytes": len(text.encode())}
    return Shown(data, text=f"wrote the card of {ref} to {out}")


def _evaluate(r: Remote, p: Params, *, diagnose: bool) -> Shown:
    body = {"model": p["model"], "suite": p["suite"], "diagnose": diagnose}
    with progress(f"evaluating {p['model']} on {p['suite']}", total=1) as advance:
        run = r.json("POST", "/evaluations", json=body, timeout=LONG_TIMEOUT_S)
        advance()
    figures = ", ".join(
        f"{k}={v:.3f}" for k, v in (run.get("metrics") or {}).items() if isinstance(v, float)
    )
    return Shown(
        run,
        text=f"{run['model']} on {run['suite']}: {figures}; {run.get('budget_left')} queries left",
    )


@route("eval run")
def _eval_run(r: Remote, c: Context, p: Params) -> Shown:
    return _evaluate(r, p, diagnose=not p.get("no_diagnose"))


@route("eval diagnose")
def _eval_diagnose(r: Remote, c: Context, p: Params) -> Shown:
    return _evaluate(r, p, diagnose=True)


@route("eval list")
def _eval_list(r: Remote, c: Context, p: Params) -> Shown:
    items = r.get("/evaluations", model=p.get("model"), suite=p.get("suite"))
    return Shown(items, "Evaluation runs", ("id", "model", "suite", "created_at", "metrics"))


@route("suite list")
def _suite_list(r: Remote, c: Context, p: Params) -> Shown:
    return Shown(r.get("/evaluations/suites"), "Suites", ("name", "dataset", "owner", "metrics"))


_LOOP_COLUMNS = ("name", "created_by", "status", "suite", "summary")


@route("loop run")
def _loop_run(r: Remote, c: Context, p: Params) -> Shown:
    body = {
        "name": p["name"],
        "trainer": p["trainer"],
        "datasets": list(p["dataset"]),
        "reserves": list(p.get("reserve") or ()),
        "budget": p["budget"],
        "suite": p["suite"],
        "iterations": p.get("iterations", 3),
        "params": _model_params(p),
        "exclude": list(p.get("exclude") or ()),
        "seed": p.get("seed", 0),
        "task": p.get("task"),
        **_time_fields(p),
    }
    job = r.json("POST", "/loop/runs", json=body)
    if p.get("detach"):
        return submitted(job)
    run = r.get(f"/loop/runs/{follow(r, job)['result']['loop_run']}")
    return Shown(run, f"Loop run {run['name']}", _LOOP_COLUMNS)


@route("loop list")
def _loop_list(r: Remote, c: Context, p: Params) -> Shown:
    return Shown(r.get("/loop/runs"), "Loop runs", _LOOP_COLUMNS)


@route("loop show")
def _loop_show(r: Remote, c: Context, p: Params) -> Shown:
    run = r.get(f"/loop/runs/{p['name']}")
    return Shown(run, f"Loop run {run['name']}", _LOOP_COLUMNS)


@route("loop report")
def _loop_report(r: Remote, c: Context, p: Params) -> Shown:
    out = Path(p["out"])
    _write(out, r.send("GET", f"/loop/runs/{p['name']}/report").text)
    return Shown({"report": str(out)}, text=f"wrote the report of {p['name']} to {out}")


@route("federate run")
def _federate_run(r: Remote, c: Context, p: Params) -> Shown:
    if p.get("superlink"):
        raise unsupported(c, "--superlink (deployment mode)")
    if p.get("lag_column") or p.get("lag") or p.get("window"):
        raise unsupported(c, "time features (--lag-column/--lag/--window)")
    if not p.get("dataset"):
        raise InvalidInput("give --dataset per member")
    keys = ("name", "strategy", "model", "rounds", "mu", "server_lr", "hidden", "epochs", "lr")
    body = {k: p[k] for k in keys}
    body.update(
        datasets=list(p["dataset"]),
        dp_noise=p["dp_noise"],
        dp_clip=p["dp_clip"],
        secure_aggregation=bool(p.get("secure")),
        exclude=list(p.get("exclude") or ()),
        seed=p.get("seed", 0),
        backend=p.get("backend") or "numpy",
    )
    job = r.json("POST", "/federation/runs", json=body)
    if p.get("detach"):
        return submitted(job)
    return _model(r, str(follow(r, job)["result"]["model"]))


@route("value")
def _value(r: Remote, c: Context, p: Params) -> Shown:
    keys = ("model", "suite", "k", "permutations", "seed")
    job = r.json("POST", "/jobs/valuate", json={k: p[k] for k in keys})
    if p.get("detach"):
        return submitted(job)
    result = follow(r, job)["result"]["valuation"]
    if p.get("statement") is not None:
        out = Path(p["statement"])
        fmt = "html" if out.suffix.lower() in (".html", ".htm") else "md"
        _write(
            out,
            r.send("GET", f"/valuations/{result['model']}/statement", params={"format": fmt}).text,
        )
    members = [{"member": n, **m} for n, m in (result.get("members") or {}).items()]
    return Shown(
        result,
        f"{result['model']} on {result['suite']} (higher = more valuable)",
        ("member", "rows", "share", "shapley", "leave_one_out", "knn_shapley"),
        table=members,
    )


# --- review queue, my data, ledger -------------------------------------------------------

_REVIEW_COLUMNS = ("id", "dataset", "version", "row", "kind", "proposed", "status")


def _where(p: Params, *, status: bool) -> dict[str, Any]:
    """The review filter's fields (``--dataset NAME@N`` split into dataset and version)."""
    dataset = p.get("dataset")
    name, _, number = str(dataset).partition("@") if dataset else (None, "", "")
    if number and not number.isdigit():
        raise InvalidInput(f"bad filter: version {number!r} is not a number")
    where = {
        "owner": p.get("owner"),
        "dataset": name or None,
        "version": int(number) if number else None,
        "kind": p.get("kind"),
        "loop": p.get("loop"),
        "max_given_proba": p.get("max_given_proba"),
    }
    if status:
        where["status"] = p.get("status") or None
    return _query(where)


@route("review list")
def _review_list(r: Remote, c: Context, p: Params) -> Shown:
    query = {**_where(p, status=True), "limit": p.get("limit")}
    query["strongest_first"] = bool(p.get("strongest_first"))
    items = r.get("/reviews", **query)
    return Shown(items, f"Review items ({len(items)})", _REVIEW_COLUMNS)


@route("review show")
def _review_show(r: Remote, c: Context, p: Params) -> Shown:
    return Shown(r.get(f"/reviews/{p['item']}"), f"Review item {p['item']}")


def _decide(r: Remote, c: Context, p: Params, decision: str) -> Shown:
    items = list(p.get("items") or ())
    filtered = bool(
        p.get("all_")
        or p.get("owner")
        or p.get("dataset")
        or p.get("kind")
        or p.get("loop")
        or p.get("max_given_proba") is not None
    )
    if items and filtered:
        raise InvalidInput("give item ids or a filter (--all / --loop / ...), not both")
    apply_now = bool(p.get("apply_now", True))
    reason = p.get("reason") or ""
    if items:
        lines = [
            {"id": i, "decision": decision, "reason": reason, "value": p.get("value")}
            for i in items
        ]
        body: dict[str, Any] = {"decisions": lines, "apply": apply_now}
    elif filtered:
        where = {**_where(p, status=False), "all": bool(p.get("all_"))}
        body = {"where": where, "decision": decision, "reason": reason, "apply": apply_now}
    else:
        raise InvalidInput("name the items to decide (ids, --all, or a filter)")
    result = r.json("POST", "/reviews/decisions", json=body)
    made = "".join(f"\nnew version {v}" for v in result.get("versions") or ())
    return Shown(
        result, text=f"accepted {result.get('accepted')}, rejected {result.get('rejected')}{made}"
    )


@route("review accept")
def _review_accept(r: Remote, c: Context, p: Params) -> Shown:
    return _decide(r, c, p, "accept")


@route("review reject")
def _review_reject(r: Remote, c: Context, p: Params) -> Shown:
    return _decide(r, c, p, "reject")


@route("review counts")
def _review_counts(r: Remote, c: Context, p: Params) -> Shown:
    return Shown(r.get("/reviews/counts", loop=p.get("loop")), "Review items per owner")


@route("review apply")
def _review_apply(r: Remote, c: Context, p: Params) -> Shown:
    data = r.json("POST", f"/reviews/apply/{p['dataset']}")
    made = data.get("version")
    return Shown(data, text=f"new version {made}" if made else "nothing to apply")


@route("my-data")
def _my_data(r: Remote, c: Context, p: Params) -> Shown:
    data = r.get("/my-data", owner=p.get("owner"), uses=p.get("uses"))
    return Shown(data, f"What is done with the data of {data.get('owner', '')}")


_LEDGER_COLUMNS = ("seq", "timestamp", "actor", "action", "object_id", "hash")


@route("ledger show")
def _ledger_show(r: Remote, c: Context, p: Params) -> Shown:
    limit = int(p.get("limit", 50))
    if limit == 0:
        return Shown([], "Ledger", _LEDGER_COLUMNS)
    items = r.get(
        "/ledger",
        after=p.get("after", 0),
        limit=min(limit, 1000),
        object=p.get("object_id"),
        action=p.get("action"),
        actor=p.get("actor"),
        newest=not p.get("first"),
    )
    return Shown(items, "Ledger", _LEDGER_COLUMNS)


@route("ledger verify")
def _ledger_verify(r: Remote, c: Context, p: Params) -> Shown:
    if p.get("receipt") is not None:
        raise unsupported(c, "--receipt")
    report = r.get("/ledger/verify")
    ok = bool(report.get("ok"))
    text = (
        f"[green]ledger intact[/]: {report.get('entries')} entries verified"
        if ok
        else f"[red]ledger tampered[/]: {len(report.get('problems') or [])} problem(s)"
    )
    return Shown(report, text=text, exit_code=0 if ok else 1)


# --- agents ------------------------------------------------------------------------------

_AGENT_COLUMNS = ("ref", "owner", "scenario", "template", "tools", "created_at")


@route("agent list")
def _agent_list(r: Remote, c: Context, p: Params) -> Shown:
    items = r.get("/agents")
    if p.get("owner"):
        items = [a for a in items if a.get("owner") == p["owner"]]
    return Shown(items, f"Agents ({len(items)})", _AGENT_COLUMNS)


@route("agent show")
def _agent_show(r: Remote, c: Context, p: Params) -> Shown:
    if p.get("card"):
        return Shown(None, text=r.send("GET", f"/agents/{p['ref']}/card").text)
    return Shown(r.get(f"/agents/{p['ref']}"), "Agent", (*_AGENT_COLUMNS, "goal", "planner"))


@route("agent create")
def _agent_create(r: Remote, c: Context, p: Params) -> Shown:
    keys = ("on", "off", "persistence", "alpha", "actions_per_hour", "escalate_after")
    body = {
        "name": p["name"],
        "scenario": p["scenario"],
        "template": str(p["template"]),
        "models": list(p["model"]),
        "observes": list(p.get("observe") or ()),
        "tools": list(p["tool"]) if p.get("tool") else None,
        "goal": p.get("goal"),
        "normal": p.get("normal"),
        "tune_on": p.get("tune_on"),
        "max_false_per_100h": p.get("max_false", 2.0),
        "step_minutes": p.get("step_minutes", 15.0),
        "planner_kind": str(p.get("planner") or "rules"),
        **{k: p[k] for k in keys if k in p},
    }
    spec = r.json("POST", "/agents", json=body)
    return Shown(spec, text=f"created agent [bold]{spec['ref']}[/]")


@route("agent run")
def _agent_run(r: Remote, c: Context, p: Params) -> Shown:
    body = {"dataset": p.get("dataset"), "window": p.get("window", 96)}
    job = r.json("POST", f"/agents/{p['ref']}/runs", json=body)
    if p.get("detach"):
        return submitted(job)
    result = follow(r, job)["result"]
    return Shown(result, text=f"run {result['run']} {result['status']}")


@route("agent stop")
def _agent_stop(r: Remote, c: Context, p: Params) -> Shown:
    out = r.json("POST", f"/agents/{p['name']}/stop")
    return Shown(out, text=f"stop requested for {len(out['stopped'])} run(s)")


@route("agent evaluate")
def _agent_evaluate(r: Remote, c: Context, p: Params) -> Shown:
    job = r.json("POST", f"/agents/{p['ref']}/evaluations", json={"episodes": p["episodes"]})
    if p.get("detach"):
        return submitted(job)
    result = follow(r, job)["result"]
    return Shown(result, "Task metrics (lower = better)", table=None, columns=("agent", "metrics"))


@route("agent episodes list")
def _agent_episodes(r: Remote, c: Context, p: Params) -> Shown:
    columns = ("name", "owner", "environment", "dataset", "episodes", "budget")
    return Shown(r.get("/agents/episodes"), "Episode sets", columns)


def commands() -> Iterator[str]:
    """The command paths that run against a remote space, sorted."""
    yield from sorted({*ROUTES, *CREDENTIAL_ROUTES})
