"""The one driver every change goes through: one cooperative (:func:`change_one`) or many
(:func:`run_bulk`, declared by a :class:`BulkOp`).

A bulk operation is a function of one cooperative plus a declaration; the driver does the
rest, the same way for every operation: chunks of ``KOPFLOW_BATCH`` cooperatives, one
transaction per chunk, each cooperative all or nothing inside it, every refusal logged and
collected, plugins' after-hooks run once the chunk has committed, progress reported.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from kopflow.errors import KopflowError
from kopflow.pipeline.work import BulkResult, Outcome, Why

if TYPE_CHECKING:
    from kopflow.pipeline.change import Change, Workspace
    from kopflow.pipeline.work import CoopWork

P = TypeVar("P")  # what one item of a bulk operation carries for its cooperative
S = TypeVar("S")

Progress = Callable[[int], None]

DEFAULT_BATCH = 2000


def batch_size() -> int:
    """Cooperatives per transaction in every bulk operation: ``KOPFLOW_BATCH``, else 2000.

    Read at each call, so a test or a tuning run can set it without reloading modules.
    """
    try:
        return max(1, int(os.environ.get("KOPFLOW_BATCH") or DEFAULT_BATCH))
    except ValueError:
        return DEFAULT_BATCH


def chunks(items: Iterator[S] | Sequence[S], size: int) -> Iterator[list[S]]:
    """``items`` in lists of at most ``size``."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


class Refusal(Exception):
    """Raised by a bulk operation's ``apply`` to refuse its cooperative with more to say than
    the error: a prefix for the summary line (which step of several) and log context."""

    def __init__(self, error: KopflowError, prefix: str = "", **context: Any) -> None:
        super().__init__(str(error))
        self.error = error
        self.prefix = prefix
        self.context = context


Apply = Callable[["Change", "CoopWork", list[P]], list[Outcome]]
Load = Callable[["Change", list[str], Mapping[str, list[P]]], dict[str, "CoopWork"]]


@dataclass(frozen=True)
class BulkOp(Generic[P]):
    """The declaration of a bulk operation.

    Args:
        name: what the log calls it (``operation=`` on every refusal line).
        apply: the change to one cooperative, given the items naming it; queues rows and
            events on the change and returns their outcomes, or raises a
            :class:`~kopflow.errors.KopflowError` (or a :class:`Refusal`) to refuse it.
        load: reads the cooperatives of a chunk (ids, and the items per id); the default reads
            everything a plugin view could show.
        resolve: items name cooperatives as a user does (ids or village names), resolved per
            chunk; False when they are ids already selected by the operation.
        group: all items naming one cooperative are applied together, wherever they stand
            in ``items`` (rows of a CSV); otherwise each cooperative is named once, and a
            repeated name is applied again in its own chunk.
        keep: skips a cooperative that no longer qualifies (moved by someone else since it was
            selected) without refusing it.
        weight: how many progress units a cooperative's items count for (default: one each).
        ref: the reference an item names; None when each item is the reference itself.
    """

    name: str
    apply: Apply[P]
    load: Load[P] | None = None
    resolve: bool = True
    group: bool = False
    keep: Callable[[CoopWork], bool] | None = None
    weight: Callable[[list[P]], int] = field(default=len)
    ref: Callable[[P], str] | None = None
    log_context: Mapping[str, Any] = field(default_factory=dict)


def change_one(
    workspace: Workspace,
    coop_ref: str,
    apply: Callable[[Change, CoopWork], Outcome],
    *,
    expect_version: int | None = None,
    dry_run: bool = False,
    **context: Any,
) -> Outcome:
    """Apply one change to one cooperative in its own transaction; log a refusal and raise it;
    run the plugins' after-hooks once it has committed. With ``dry_run`` every check runs and
    nothing is written or notified."""
    from kopflow.pipeline.change import conflict

    def run(change: Change) -> Outcome:
        coop_id = change.resolve(coop_ref)
        work = change.load([coop_id])[coop_id]
        if expect_version is not None and work.row["version"] != expect_version:
            raise conflict(work.id, work.row["updated_by"], work.row["updated_at"])
        return apply(change, work)

    try:
        outcome = workspace.write(run, dry_run=dry_run)
    except KopflowError as err:
        workspace.refused(err, coop=coop_ref, **context)
        raise
    if dry_run:
        outcome.after = None  # nothing was committed: nothing to tell the plugins
        return outcome
    if outcome.audit_seq is not None:
        workspace.log.info("committed", coop=outcome.coop_id, audit_seq=outcome.audit_seq)
    _notify(outcome)
    return outcome


def run_bulk(
    workspace: Workspace,
    op: BulkOp[P],
    items: Sequence[P],
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> BulkResult:
    """Run ``op`` for the cooperatives ``items`` name, a chunk per transaction.

    With ``op.group``, items naming one cooperative (by id or by village name) are applied
    together, so its changes are all recorded or all refused. Chunks commit one by one: a run
    killed halfway leaves every cooperative fully changed or untouched, and running it again
    does the rest.
    """
    result = BulkResult(dry_run=dry_run)
    for chunk in _chunked(op, items, batch_size()):

        def change_chunk(change: Change, chunk: list[tuple[str, list[P]]] = chunk) -> list[Outcome]:
            named: dict[str, list[str]] = {}
            per_coop = _by_coop(change, op, chunk, result, named)
            ids = list(per_coop)
            works = op.load(change, ids, per_coop) if op.load else change.load(ids)
            outcomes: list[Outcome] = []
            # Looked up once per chunk, not per cooperative (issue #15).
            keep, apply, mark_, spill = op.keep, op.apply, change.mark, change.spill
            for coop_id, payloads in per_coop.items():
                work = works.get(coop_id)
                if work is None or (keep is not None and not keep(work)):
                    continue  # changed or removed by someone else since it was selected
                mark = mark_()
                try:
                    done = apply(change, work, payloads)
                except (KopflowError, Refusal) as err:
                    change.rollback_to(mark)
                    refs = tuple(named.get(coop_id, ()))
                    _refuse(workspace, op, result, coop_id, err, work.row["stage"], refs)
                    continue
                outcomes += done
                spill()  # between cooperatives: bounded memory (issue #5)
            return outcomes

        done = workspace.write(change_chunk, dry_run=dry_run)
        result.done.extend(done)
        if done and not dry_run:
            workspace.log.info(
                "batch committed",
                operation=op.name,
                coops=len({o.coop_id for o in done}),
                audit_seq_first=done[0].audit_seq,
                audit_seq_last=done[-1].audit_seq,
            )
            for outcome in done:
                _notify(outcome)
        if progress:
            progress(sum(op.weight(payloads) for _ref, payloads in chunk))
    return result


def _chunked(op: BulkOp[P], items: Sequence[P], size: int) -> Iterator[list[tuple[str, list[P]]]]:
    """The items in chunks of ``size`` references, each with its payloads.

    Only an operation that groups reads all the items first (a cooperative's rows may be
    anywhere in a CSV); the others are chunked as they come, so a national run does not hold
    a list per cooperative for the whole call (issue #5: memory).
    """
    ref = op.ref or _itself
    if not op.group:
        for part in chunks(items, size):
            yield [(ref(item), [item]) for item in part]
        return
    grouped: dict[str, list[P]] = {}
    for item in items:
        grouped.setdefault(ref(item), []).append(item)
    for refs in chunks(list(grouped), size):
        yield [(ref, grouped[ref]) for ref in refs]


def _itself(item: Any) -> str:
    return str(item)


def _by_coop(
    change: Change,
    op: BulkOp[P],
    chunk: list[tuple[str, list[P]]],
    result: BulkResult,
    named: dict[str, list[str]],
) -> dict[str, list[P]]:
    """The chunk's payloads per cooperative id; references that name none are refused.

    ``named`` receives, for each cooperative named otherwise than by its id, the references
    that named it.
    """
    per_coop: dict[str, list[P]] = {}
    if not op.resolve:
        for ref, payloads in chunk:
            per_coop.setdefault(ref, []).extend(payloads)
        return per_coop
    resolved = change.resolve_many(ref for ref, _payloads in chunk)  # one query for ids
    for ref, payloads in chunk:
        found = resolved[ref]
        if isinstance(found, KopflowError):
            _refuse(change.workspace, op, result, ref, found, None)
            continue
        if found != ref:
            named.setdefault(found, []).append(ref)
        per_coop.setdefault(found, []).extend(payloads)
    return per_coop


def _refuse(
    workspace: Workspace,
    op: BulkOp[Any],
    result: BulkResult,
    coop: str,
    err: KopflowError | Refusal,
    stage: str | None,
    refs: tuple[str, ...] = (),
) -> None:
    """Log one cooperative's refusal and add it to the result, the same for every operation.

    The refusal's ``reason`` is its message with the cooperative's own name as ``COOP``, as
    the one string the result keeps for it: refusals for the same reason share it, and a
    summary groups by it.
    """
    if isinstance(err, Refusal):
        error, prefix, context = err.error, err.prefix, err.context
    else:
        error, prefix, context = err, "", {}
    workspace.refused(error, operation=op.name, coop=coop, **op.log_context, **context)
    message = f"{prefix}{error}"
    reason = result.reason(message.replace(coop, "COOP") if coop else message)
    item = context.get("step")
    why = Why(reason, item if isinstance(item, str) else None, refs, error.exit_code)
    result.refused.append(Outcome(coop, False, message, stage=stage, why=why))


def _notify(outcome: Outcome) -> None:
    """Run a committed change's plugin notifications, which cannot undo it."""
    if outcome.after is not None:
        after, outcome.after = outcome.after, None  # frees the change's state (issue #5)
        after()
