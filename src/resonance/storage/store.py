"""The Store interface: one transaction object exposing every repository.

Services open ``with store.transaction() as tx:`` and do all reads and writes
of one use case through ``tx``; the change and its ledger entries commit or
roll back together. Implementations: :class:`resonance.storage.sql.SqlStore`
(SQLite by default, PostgreSQL).

Contracts every repository keeps (pinned by the contract suites in ``tests/storage`` on
SQLite and PostgreSQL; a method's own docstring adds or overrides):

* ``add_*`` stores a new record; a record whose key is already stored (or which names an
  unknown parent, e.g. a member of an unknown consortium) makes the transaction raise
  :class:`~resonance.domain.errors.Conflict` and nothing of it is stored.
* ``get_*`` returns the record, or ``None`` when there is none (never raises for a
  missing key); ``lock=True`` also holds the row until the transaction ends.
* ``list_*`` return records in a stable order: by name, or by number / time of
  creation where records are numbered or timed (oldest first unless ``newest``);
  filters given as ``None`` do not filter.
* ``update_*`` / ``set_*`` change a stored record and return whether one was changed
  (``False`` for an unknown key) where they return a ``bool``.
* Records go in and come out as the domain's typed dataclasses, equal field by field.
* A database that cannot be reached raises
  :class:`~resonance.domain.errors.StoreUnavailable`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # annotations only: importing the interface loads no record module
    from resonance.domain.agents import AgentEvaluation, AgentRun, AgentSpec, EpisodeSet, RunStatus
    from resonance.domain.datasets import Dataset, DatasetKind, DatasetVersion
    from resonance.domain.dsp import AutoAgreeRule, Negotiation, Peer
    from resonance.domain.evaluation import EvaluationRun, EvaluationSuite
    from resonance.domain.jobs import Job, JobKind, JobStatus
    from resonance.domain.ladder import SuiteQuery
    from resonance.domain.ledger import LedgerEntry
    from resonance.domain.loop_types import LoopRun
    from resonance.domain.modeling import ModelVersion
    from resonance.domain.national import ImportedBundle
    from resonance.domain.orgs import Consortium, ConsortiumMember, Organization
    from resonance.domain.policies import Policy
    from resonance.domain.registry import (
        DatasetEntry,
        HistoryEntry,
        HolderKind,
        KeyCity,
        KeyIndustry,
        LandingCase,
        ModelEntry,
        ModelKind,
        ResonanceSpaceEntry,
        ScenarioFile,
        ScenarioStatus,
    )
    from resonance.domain.reporting import ReportKind, ReportNote, ReportSubmission, SubjectKind
    from resonance.domain.review import (
        Delegation,
        ProposalKind,
        ReviewItem,
        ReviewStatus,
        VersionMark,
    )
    from resonance.domain.sessions import ConsoleSession
    from resonance.domain.tokens import ApiToken


class OrgRepo(Protocol):
    """Organizations and consortia."""

    def add_organization(self, org: Organization, *, created_at: str) -> None: ...
    def get_organization(self, name: str) -> Organization | None: ...
    def list_organizations(self) -> list[Organization]: ...
    def add_consortium(self, consortium: Consortium, *, created_at: str) -> None: ...
    def add_consortium_member(self, consortium: str, member: ConsortiumMember) -> None: ...
    def get_consortium(self, name: str) -> Consortium | None: ...
    def list_consortia(self, *, industry: str | None = None) -> list[Consortium]: ...


class CatalogReader(Protocol):
    """The catalog's read-only queries: what browsing datasets (and knowing who asks) needs.

    Every :class:`Tx` is one; so is the embedded store's quick reader
    (:class:`resonance.storage.sqlite_reader.SqliteCatalogReader`), which must give the
    same answers (``tests/storage/test_catalog_reader.py``).
    """

    def get_organization(self, name: str) -> Organization | None: ...
    def get_api_token(self, token_id: str) -> ApiToken | None: ...
    def get_dataset(self, name: str) -> Dataset | None: ...
    def list_datasets(
        self,
        *,
        owner: str | None = None,
        kind: DatasetKind | None = None,
        industry: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Dataset]: ...
    def get_version(self, dataset: str, number: int | None = None) -> DatasetVersion | None: ...
    def list_versions(self, dataset: str) -> list[DatasetVersion]: ...
    def latest_versions(
        self,
        *,
        with_validation: bool = True,
        with_profile: bool = True,
        brief: bool = False,
        datasets: Sequence[str] | None = None,
    ) -> dict[str, DatasetVersion]: ...
    def version_marks(self, dataset: str) -> dict[int, VersionMark]: ...


class CatalogRepo(Protocol):
    """Datasets and their immutable versions."""

    def add_dataset(self, dataset: Dataset, *, created_at: str) -> None: ...
    def get_dataset(self, name: str) -> Dataset | None: ...
    def list_datasets(
        self,
        *,
        owner: str | None = None,
        kind: DatasetKind | None = None,
        industry: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Dataset]:
        """Datasets by name; ``limit``/``offset`` page through them."""
        ...

    def add_version(self, version: DatasetVersion) -> None: ...
    def get_version(self, dataset: str, number: int | None = None) -> DatasetVersion | None:
        """Version ``number``; without it the latest version that is not a rejected loop
        candidate (see :meth:`ReviewRepo.mark_version`)."""
        ...

    def list_versions(self, dataset: str) -> list[DatasetVersion]: ...
    def latest_versions(
        self,
        *,
        with_validation: bool = True,
        with_profile: bool = True,
        brief: bool = False,
        datasets: Sequence[str] | None = None,
    ) -> dict[str, DatasetVersion]:
        """The latest version of every dataset (or of ``datasets``), by dataset name, in one query.

        Rejected loop candidates are never a latest version. Without ``with_validation`` /
        ``with_profile`` those (large) JSON columns are not read and the versions carry
        empty dicts instead. ``brief`` (for list views) reads neither the schema (an empty
        one is returned) nor the profile, and of the validation report only ``ok`` and
        ``warnings``, extracted by the database.
        """
        ...

    def last_version_number(self, dataset: str) -> int:
        """The highest version number of ``dataset`` (rejected candidates too; 0 if none)."""
        ...

    def registry_datasets(self) -> list[DatasetEntry]:
        """Every dataset a registry lists -- not sealed evaluation sets, not derived working
        sets -- by name, with its owner's region and its latest kept version's ref, rows
        and verdict (``none`` without a version), in one query (no JSON documents decoded):
        what registry views and quotas count."""
        ...

    def find_version_by_hash(self, dataset: str, content_hash: str) -> DatasetVersion | None: ...
    def find_version_by_source(self, dataset: str, source_hash: str) -> DatasetVersion | None: ...


class PolicyRepo(Protocol):
    """Usage policies, versioned per dataset.

    ``add_policy`` stores a version (the caller numbers it one above the latest; a
    repeated ``(dataset, version)`` is a ``Conflict``); ``get_policy`` is the highest
    version, ``None`` for a dataset without one; ``policy_history`` every version, oldest
    first.
    """

    def add_policy(self, policy: Policy) -> None: ...
    def get_policy(self, dataset: str) -> Policy | None: ...
    def policy_history(self, dataset: str) -> list[Policy]: ...


class LedgerRepo(Protocol):
    """The hash-chained ledger.

    ``ledger_head(lock=True)`` returns the last entry and serializes appenders until the
    transaction ends (two writers never chain onto the same head). ``append_ledger``
    stores an entry whose ``seq`` is the head's plus one (a repeated ``seq`` is a
    ``Conflict``); it never rewrites an entry. ``ledger_entries`` filters by object,
    action and actor after ``after_seq``, in ``seq`` order (``newest``: the last
    ``limit`` matching ones, still in ``seq`` order);
    ``iter_ledger`` streams every entry in ``seq`` order in batches; ``recorded_head``
    is the ``(seq, hash)`` kept beside the chain, ``None`` for an empty ledger.
    """

    def ledger_head(self, *, lock: bool = False) -> LedgerEntry | None: ...
    def append_ledger(self, entry: LedgerEntry) -> None: ...
    def ledger_entries(
        self,
        *,
        after_seq: int = 0,
        limit: int | None = None,
        object_id: str | None = None,
        action: str | None = None,
        actor: str | None = None,
        newest: bool = False,
    ) -> list[LedgerEntry]: ...
    def iter_ledger(self, *, batch: int = 1000) -> Iterator[LedgerEntry]: ...
    def recorded_head(self) -> tuple[int, str] | None: ...


class MetaRepo(Protocol):
    """Small key/value settings of the space (``set_meta`` inserts or replaces)."""

    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...


class RegistryRepo(Protocol):
    """Registries of the action (scenario files, models, cases, spaces, key cities/industries)."""

    def add_scenario(self, scenario: ScenarioFile, *, created_at: str) -> None: ...
    def get_scenario(self, name: str) -> ScenarioFile | None: ...
    def list_scenarios(self, *, industry: str | None = None) -> list[ScenarioFile]: ...
    def set_scenario_status(
        self, name: str, status: ScenarioStatus, *, updated_at: str
    ) -> bool: ...
    def add_model_entry(self, model: ModelEntry, *, created_at: str) -> None: ...
    def get_model_entry(self, name: str) -> ModelEntry | None: ...
    def list_model_entries(
        self, *, industry: str | None = None, kind: ModelKind | None = None
    ) -> list[ModelEntry]: ...
    def add_case(self, case: LandingCase, *, created_at: str) -> None: ...
    def get_case(self, name: str) -> LandingCase | None: ...
    def list_cases(self, *, model: str | None = None) -> list[LandingCase]: ...
    def add_space_entry(self, entry: ResonanceSpaceEntry, *, created_at: str) -> None: ...
    def get_space_entry(self, name: str) -> ResonanceSpaceEntry | None: ...
    def list_space_entries(self) -> list[ResonanceSpaceEntry]: ...
    def add_key_city(self, city: KeyCity, *, created_at: str) -> None: ...
    def list_key_cities(self, *, province: str | None = None) -> list[KeyCity]: ...
    def add_key_industry(self, key: KeyIndustry, *, created_at: str) -> None: ...
    def list_key_industries(
        self, *, holder_kind: HolderKind | None = None, holder: str | None = None
    ) -> list[KeyIndustry]: ...
    def add_report_submission(self, sub: ReportSubmission) -> None: ...
    def list_report_submissions(
        self, *, subject_kind: SubjectKind | None = None, subject: str | None = None
    ) -> list[ReportSubmission]: ...
    # corrections, status steps and their history; report notes; national bundles
    def update_scenario(self, scenario: ScenarioFile, *, updated_at: str) -> None: ...
    def update_model_entry(self, model: ModelEntry) -> None: ...
    def update_case(self, case: LandingCase) -> None: ...
    def update_space_entry(self, entry: ResonanceSpaceEntry) -> None: ...
    def add_history(self, entry: HistoryEntry) -> None: ...
    def list_history(self, *, registry: str, name: str) -> list[HistoryEntry]: ...
    def add_report_note(self, note: ReportNote) -> None: ...
    def list_report_notes(
        self, *, kind: ReportKind, subject_kind: SubjectKind, subject: str
    ) -> list[ReportNote]: ...
    def add_bundle(self, bundle: ImportedBundle) -> None: ...
    def list_bundles(self) -> list[ImportedBundle]: ...


class TokenRepo(Protocol):
    """API tokens (salted hashes only)."""

    def add_api_token(self, token: ApiToken) -> None: ...
    def get_api_token(self, token_id: str) -> ApiToken | None: ...
    def list_api_tokens(self, *, organization: str | None = None) -> list[ApiToken]: ...
    def revoke_api_token(self, token_id: str, *, revoked_at: str) -> bool: ...


class SessionRepo(Protocol):
    """Web console sessions (hashed session ids only)."""

    def add_console_session(self, session: ConsoleSession) -> None: ...
    def get_console_session(self, id_hash: str) -> ConsoleSession | None: ...
    def delete_console_session(self, id_hash: str) -> bool: ...
    def delete_expired_console_sessions(self, *, now: str) -> int: ...


class ModelRepo(Protocol):
    """Model versions, sealed evaluation suites and evaluation runs."""

    def add_model_version(self, model: ModelVersion) -> None: ...
    def get_model_version(self, name: str, number: int | None = None) -> ModelVersion | None: ...
    def set_model_artifact(self, name: str, number: int, artifact_hash: str) -> None: ...
    def list_model_versions(
        self, *, name: str | None = None, created_by: str | None = None
    ) -> list[ModelVersion]: ...
    def add_suite(self, suite: EvaluationSuite, *, created_at: str) -> None: ...
    def get_suite(self, name: str) -> EvaluationSuite | None: ...
    def list_suites(self) -> list[EvaluationSuite]: ...
    def add_eval_run(self, run: EvaluationRun) -> None: ...
    def list_eval_runs(
        self, *, model: str | None = None, model_name: str | None = None, suite: str | None = None
    ) -> list[EvaluationRun]: ...
    def count_eval_runs(self, *, model_name: str, suite: str) -> int: ...


class LoopRepo(Protocol):
    """Resonance loop runs."""

    def add_loop_run(self, run: LoopRun) -> None: ...
    def update_loop_run(self, run: LoopRun) -> None: ...
    def get_loop_run(self, name: str) -> LoopRun | None: ...
    def list_loop_runs(self, *, created_by: str | None = None) -> list[LoopRun]: ...


class DspRepo(Protocol):
    """Interconnection: peers, negotiations (agreement and transfer), rules, nonces."""

    def add_peer(self, peer: Peer) -> None: ...
    def get_peer(self, name: str) -> Peer | None: ...
    def get_peer_by_key(self, key_id: str) -> Peer | None: ...
    def list_peers(self) -> list[Peer]: ...
    def add_negotiation(self, negotiation: Negotiation) -> None: ...
    def update_negotiation(self, negotiation: Negotiation) -> None: ...
    def get_negotiation(self, pid: str, *, lock: bool = False) -> Negotiation | None: ...
    def find_negotiation(
        self, *, peer: str, peer_pid: str | None = None, transfer_pid: str | None = None
    ) -> Negotiation | None: ...
    def list_negotiations(
        self,
        *,
        peer: str | None = None,
        dataset: str | None = None,
        organization: str | None = None,
    ) -> list[Negotiation]: ...
    def set_auto_agree_rule(self, rule: AutoAgreeRule) -> None: ...
    def get_auto_agree_rule(self, dataset: str, peer: str) -> AutoAgreeRule | None: ...
    def add_nonce(self, key_id: str, nonce: str, *, seen_at: str) -> bool:
        """Record a nonce; False when ``key_id`` already used it (a replay)."""
        ...

    def prune_nonces(self, *, before: str) -> int: ...


class JobRepo(Protocol):
    """Jobs (long work run by workers).

    Contracts (tested on SQLite and PostgreSQL by ``tests/storage/test_jobs_contract.py``):

    * ``add_job`` stores a new job; a duplicate id raises (``Conflict`` at the store).
    * ``list_jobs`` returns newest first, filtered by organization, statuses and kind.
    * ``count_active_jobs`` counts queued and running jobs of one organization; with
      ``lock`` the count and the caller's following insert are serialized per organization.
    * ``claim_job`` moves a job from queued to running for ``worker`` and returns True only
      for the one call that did it: a job runs at most once, and never after a cancel request.
    * ``report_job_progress`` updates progress, message and heartbeat, appends a log line
      (the newest ``MAX_LOG_LINES`` are kept) on a running job only, and returns whether a
      cancel was requested (False for a job not running).
    * ``finish_job`` moves a queued or running job to a final status once; a finished job
      never changes again (returns False).
    * ``request_job_cancel`` flags a queued or running job; False when it already finished.
    """

    def add_job(self, job: Job) -> None: ...
    def get_job(self, job_id: str) -> Job | None: ...
    def list_jobs(
        self,
        *,
        organization: str | None = None,
        statuses: Sequence[JobStatus] | None = None,
        kind: JobKind | None = None,
        limit: int | None = None,
    ) -> list[Job]: ...
    def count_active_jobs(self, organization: str, *, lock: bool = False) -> int: ...
    def claim_job(self, job_id: str, *, worker: str, now: str) -> bool: ...
    def report_job_progress(
        self,
        job_id: str,
        *,
        now: str,
        progress: float | None = None,
        message: str | None = None,
        log: str | None = None,
    ) -> bool: ...
    def finish_job(
        self,
        job_id: str,
        *,
        status: JobStatus,
        now: str,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
        log: str | None = None,
    ) -> bool: ...
    def request_job_cancel(self, job_id: str) -> bool: ...


class TrustRepo(Protocol):
    """Charged queries against sealed suites (budget per builder organization, Ladder)."""

    def add_suite_query(self, query: SuiteQuery) -> None: ...
    def suite_queries(self, *, suite: str, organization: str) -> list[SuiteQuery]: ...


class ReviewRepo(Protocol):
    """The owners' review queue, reviewer delegations and dataset version marks.

    Contracts (tests/storage/test_review_contract.py runs them on every backend):

    - ``add_review`` stores a new item; a second item with the same id, or with the
      same (dataset, version, row, kind), is refused (``Conflict``): one item per
      proposal is what deduplicates the queue. The item's version must exist.
    - ``update_review`` replaces every field of a stored item (``KeyError`` if none).
    - ``get_review`` returns the item or None; ``lock`` holds its row until the
      transaction ends where the backend has row locks.
    - ``list_reviews`` filters by every given argument (``None`` = any), ordered by
      dataset, version, row, kind; ``count_reviews`` counts per (owner, status).
    - Delegations are (owner, delegate) pairs; adding one twice is a ``Conflict``;
      ``remove_delegation`` says whether one was removed.
    - ``mark_version`` sets (or replaces) the mark of an existing version; a version
      marked ``rejected`` is never returned as a dataset's latest.
    """

    def add_review(self, item: ReviewItem) -> None: ...
    def update_review(self, item: ReviewItem) -> None: ...
    def get_review(self, item_id: str, *, lock: bool = False) -> ReviewItem | None: ...
    def list_reviews(
        self,
        *,
        owner: str | None = None,
        dataset: str | None = None,
        version: int | None = None,
        status: ReviewStatus | None = None,
        kind: ProposalKind | None = None,
        ids: list[str] | None = None,
    ) -> list[ReviewItem]: ...
    def count_reviews(self, *, owner: str | None = None) -> dict[tuple[str, str], int]: ...
    def add_delegation(self, delegation: Delegation) -> None: ...
    def remove_delegation(self, owner: str, delegate: str) -> bool: ...
    def list_delegations(
        self, *, owner: str | None = None, delegate: str | None = None
    ) -> list[Delegation]: ...
    def mark_version(self, mark: VersionMark) -> None: ...
    def version_marks(self, dataset: str) -> dict[int, VersionMark]: ...


class AgentRepo(Protocol):
    """Agent specs, their runs (and kill switch), sealed episode sets and evaluations.

    Contracts (tests/storage/test_agents_contract.py runs them on every backend):

    - ``add_agent`` stores a new version; the same (name, version) twice is a ``Conflict``.
      ``get_agent`` returns the given version, or the latest without one, or None.
    - ``list_agents`` filters by owner and scenario, ordered by name and version.
    - ``update_agent_run`` replaces status, end, stop flag and result (``KeyError`` if none).
    - ``request_agent_stop`` sets the stop flag of the agent's running runs and returns
      their ids (sorted); ``agent_stop_requested`` reads one run's flag.
    - ``list_agent_evaluations`` filters by every given argument, oldest first.
    """

    def add_agent(self, spec: AgentSpec) -> None: ...
    def get_agent(self, name: str, version: int | None = None) -> AgentSpec | None: ...
    def list_agents(
        self, *, owner: str | None = None, scenario: str | None = None
    ) -> list[AgentSpec]: ...
    def add_agent_run(self, run: AgentRun) -> None: ...
    def update_agent_run(self, run: AgentRun) -> None: ...
    def get_agent_run(self, run_id: str) -> AgentRun | None: ...
    def list_agent_runs(
        self, *, agent: str | None = None, status: RunStatus | None = None
    ) -> list[AgentRun]: ...
    def request_agent_stop(self, agent: str) -> list[str]: ...
    def agent_stop_requested(self, run_id: str) -> bool: ...
    def add_episode_set(self, episodes: EpisodeSet) -> None: ...
    def get_episode_set(self, name: str) -> EpisodeSet | None: ...
    def list_episode_sets(self) -> list[EpisodeSet]: ...
    def add_agent_evaluation(self, evaluation: AgentEvaluation) -> None: ...
    def list_agent_evaluations(
        self,
        *,
        agent: str | None = None,
        episodes: str | None = None,
        organization: str | None = None,
    ) -> list[AgentEvaluation]: ...


class Tx(
    AgentRepo,
    DspRepo,
    JobRepo,
    TrustRepo,
    ReviewRepo,
    LoopRepo,
    ModelRepo,
    OrgRepo,
    CatalogRepo,
    PolicyRepo,
    LedgerRepo,
    MetaRepo,
    RegistryRepo,
    TokenRepo,
    SessionRepo,
    Protocol,
):
    """One unit of work over every repository."""


class Store(Protocol):
    """A metadata store."""

    url: str

    def transaction(self) -> AbstractContextManager[Tx]: ...
    def migrate(self) -> None: ...
    def close(self) -> None: ...
