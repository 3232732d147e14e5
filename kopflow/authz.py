"""Who may do what: actors, roles and scopes, decided in one place (``require``).

An officer acts on cooperatives of their own kabupaten, a partner's staff only on their
partner's steps, an auditor only reads, an admin does everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from kopflow.errors import PermissionDeniedError
from kopflow.i18n import _

ROLES = ("officer", "partner", "auditor", "admin")
# Workflow step roles an officer of the Dinas records on behalf of others (the Business
# Assistant and the board report to the Dinas, which enters their evidence).
OFFICER_STEP_ROLES = frozenset({"officer", "assistant", "board"})


@dataclass(frozen=True)
class ActorInfo:
    """The acting person as the actor table knows them."""

    name: str
    role: str
    region: str | None = None
    partner: str | None = None


def require_write(actor: ActorInfo) -> None:
    """Refuse any change by a read-only role."""
    if actor.role == "auditor":
        raise PermissionDeniedError("{actor} is an auditor and may only read", actor=actor.name)


def require_admin(actor: ActorInfo, action: str) -> None:
    """Refuse ``action`` (actor management, imports of other regions) to anyone but an admin."""
    if actor.role != "admin":
        raise PermissionDeniedError(
            "{actor} ({role}) may not {action}; an admin must do it",
            actor=actor.name,
            role=actor.role,
            action=action,
        )


def require_coop(actor: ActorInfo, kabupaten: str, coop_id: str) -> None:
    """Refuse a change to a cooperative outside the actor's kabupaten."""
    require_write(actor)
    if actor.role == "partner":
        # Issue #4: a partner's staff act only on their partner's steps (``require_step``);
        # moving, enrolling or registering cooperatives is the Dinas' work.
        raise PermissionDeniedError(
            "{actor} works for partner {partner} and may only complete its steps",
            actor=actor.name,
            partner=actor.partner,
        )
    if actor.role == "officer" and actor.region != kabupaten:
        raise PermissionDeniedError(
            "{actor} is an officer of {region} and may not act on {coop} in {kabupaten}",
            actor=actor.name,
            region=actor.region,
            coop=coop_id,
            kabupaten=kabupaten,
        )


def require_kabupaten(actor: ActorInfo, kabupaten: str) -> None:
    """Refuse a bulk change of a whole kabupaten outside the actor's (no cooperative to name)."""
    require_write(actor)
    if actor.role == "officer" and actor.region != kabupaten:
        raise PermissionDeniedError(
            "{actor} is an officer of {region} and may not act on cooperatives in {kabupaten}",
            actor=actor.name,
            region=actor.region,
            kabupaten=kabupaten,
        )
    require_coop(actor, kabupaten, kabupaten)  # a partner's staff: refused as for one


def require_step(
    actor: ActorInfo,
    *,
    step: str,
    step_role: str,
    partner: str | None,
    kabupaten: str,
    coop_id: str,
) -> None:
    """Refuse a step the actor's role does not complete (a partner's staff: only its own)."""
    require_write(actor)
    if actor.role == "admin":
        return
    if actor.role == "partner":
        if partner is None or partner != actor.partner:
            raise PermissionDeniedError(
                "{actor} works for partner {partner} and may not complete step {step}",
                actor=actor.name,
                partner=actor.partner,
                step=step,
            )
        return
    require_coop(actor, kabupaten, coop_id)
    if step_role not in OFFICER_STEP_ROLES and not (partner and step_role == "partner"):
        raise PermissionDeniedError(
            "step {step} is completed by role {role}, not by {actor}",
            step=step,
            role=step_role,
            actor=actor.name,
        )


def scope_region(actor: ActorInfo) -> str | None:
    """The kabupaten a bulk command is limited to for this actor (None: no limit)."""
    return actor.region if actor.role == "officer" else None


# --- the outbox (issue #13) --------------------------------------------------------------------


def outbox_partner(actor: ActorInfo, partner: str | None, *, deliver: bool) -> str | None:
    """The partner whose outbox rows the actor may see (``deliver=False``) or deliver; None for
    every partner.

    A partner's staff see and deliver only their partner's rows, whether they name it or not.
    Delivering calls the partners' systems: an admin's or a partner's staff's work, never an
    officer's or an auditor's. Everyone else may read every partner's rows.
    """
    if deliver:
        require_write(actor)
        if actor.role not in ("admin", "partner"):
            raise PermissionDeniedError(
                "{actor} ({role}) may not deliver partner notifications; an admin or the "
                "partner's staff runs 'kopflow partner deliver'",
                actor=actor.name,
                role=actor.role,
            )
    if actor.role != "partner":
        return partner
    if partner is not None and partner != actor.partner:
        raise PermissionDeniedError(
            "{actor} works for partner {partner} and may not see or deliver the notifications "
            "of {other}",
            actor=actor.name,
            partner=actor.partner,
            other=partner,
        )
    return actor.partner


def require_region(actor: ActorInfo, kabupaten: str, what: str) -> None:
    """Refuse a district's partnership record (a forum, its attendance, a district's cap) to
    anyone but an admin or an officer of that kabupaten (issue #16).

    ``what`` is the record's name untranslated (``N_``): translated only for a refusal, as a
    bulk call checks every row."""
    require_write(actor)
    if actor.role == "admin":
        return
    if actor.role != "officer" or actor.region != kabupaten:
        raise PermissionDeniedError(
            "{actor} ({role}) may not record {what} of {kabupaten}; an officer of "
            "{kabupaten} or an admin records it",
            actor=actor.name,
            role=actor.role,
            what=_(what),
            kabupaten=kabupaten,
        )


def require_lead(actor: ActorInfo, kabupaten: str, coop_id: str, partner: str) -> None:
    """Refuse a lead or agreement to anyone but an admin, an officer of the cooperative's
    kabupaten, or the staff of the lead's own partner (issue #16)."""
    require_write(actor)
    if actor.role == "admin":
        return
    if actor.role == "partner":
        if actor.partner != partner:
            raise PermissionDeniedError(
                "{actor} works for partner {own} and may not record leads with {partner}",
                actor=actor.name,
                own=actor.partner,
                partner=partner,
            )
        return
    require_coop(actor, kabupaten, coop_id)


# --- issue #13: what an actor reads through the plugins' read API (kopflow.rules.reads) -------
# Reads, like writes, follow the role: an officer reads their own kabupaten, a partner's staff
# the cooperatives enrolled with their partner and, of the partners' steps, their partner's
# only (another partner's evidence, a loan amount, is not theirs to see); an auditor and an
# admin read everything.


def read_region(actor: ActorInfo, kabupaten: str | None) -> str | None:
    """The kabupaten a read is limited to: the one asked for, an officer's own at most."""
    if actor.role != "officer":
        return kabupaten
    if kabupaten is not None and kabupaten != actor.region:
        raise PermissionDeniedError(
            "{actor} is an officer of {region} and may not read cooperatives in {kabupaten}",
            actor=actor.name,
            region=actor.region,
            kabupaten=kabupaten,
        )
    return actor.region


def read_partner(actor: ActorInfo, partner: str | None) -> str | None:
    """The partner a read is limited to: the one asked for, a partner's staff's own at most."""
    if actor.role != "partner":
        return partner
    if partner is not None and partner != actor.partner:
        raise PermissionDeniedError(
            "{actor} works for partner {partner} and may not read the records of partner {other}",
            actor=actor.name,
            partner=actor.partner,
            other=partner,
        )
    return actor.partner


def may_read_step(actor: ActorInfo, partner: str | None) -> bool:
    """Whether the actor sees a step's state and evidence (``partner``: the step's partner)."""
    return actor.role != "partner" or partner is None or partner == actor.partner
