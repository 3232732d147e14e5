"""Enrolling cooperatives with partners: the rules an enrolment must pass, one cooperative at a
time, and bulk enrolment as a :class:`~kopflow.pipeline.driver.BulkOp`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from kopflow import authz
from kopflow.errors import RefusedError
from kopflow.i18n import _
from kopflow.pipeline.driver import BulkOp
from kopflow.pipeline.work import Outcome

if TYPE_CHECKING:
    from kopflow.pipeline.change import Change
    from kopflow.pipeline.work import CoopWork


def enroll(change: Change, work: CoopWork, partners: Sequence[str]) -> Outcome:
    """Queue a cooperative's enrolment with the ``partners`` it is not yet enrolled with."""
    coop_id = work.id
    change.check_version(work)
    authz.require_coop(change.actor, work.row["kabupaten"], coop_id)
    if change.workflow.stage(work.row["stage"]).final:
        raise RefusedError("{coop} is dissolved", coop=coop_id)
    new: list[str] = []
    for code in partners:
        change.plugins.partner(code)  # unknown partner: error naming the known ones
        if code not in work.partners and code not in new:
            new.append(code)
    if not new:
        return Outcome(coop_id, True, _("already enrolled"), stage=work.row["stage"])
    version = change.update_coop(coop_id, work.row["version"])
    seq = change.event(
        "partner.enrolled",
        coop_id,
        {"partners": new, "coop_version": version, "plugins": change.fingerprint()},
    )
    for code in new:
        change.insert(
            "enrollment",
            {
                "coop_id": coop_id,
                "partner": code,
                "actor": change.actor.name,
                "at": change.now,
                "audit_seq": seq,
            },
        )
    work.partners.update(new)
    return Outcome(
        coop_id,
        True,
        _("enrolled with {partners}", partners=", ".join(new)),
        seq,
        work.row["stage"],
    )


def enroll_op(partners: Sequence[str]) -> BulkOp[str]:
    """Bulk enrolment of the cooperatives named with ``partners``: the same checks and audit
    event per cooperative as a single enrolment, one transaction per chunk (issue #5)."""

    def load(
        change: Change, ids: list[str], _items: Mapping[str, list[str]]
    ) -> dict[str, CoopWork]:
        change.plugins.raise_if_broken()
        return change.load(ids, views=False, steps=())  # enrolling reads no step, shows no view

    return BulkOp(
        name="partner.enroll",
        apply=lambda change, work, _items: [enroll(change, work, partners)],
        load=load,
        log_context={"partners": list(partners)},
    )
