"""Every ``kopflow_*`` hook a plugin may implement: the partner contract, grouped by lifecycle.

Specs only, no behaviour. ``kopflow.host.manager`` registers this module and calls the hooks
with keywords; ``docs/plugins.md`` documents each one (``tests/test_hookspecs.py`` checks it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from kopflow.plugin import CoopView, PartnerSpec, PluginInfo

hookspec = pluggy.HookspecMarker("kopflow")


# -------------------------------------------------------------------------------------------
# Loading: called once per process, when the plugin host is built
# -------------------------------------------------------------------------------------------


@hookspec
def kopflow_plugin_info() -> PluginInfo:
    """Say who the plugin is and which plugin API it was written for.

    Args:
        (none)

    Returns:
        A :class:`kopflow.plugin.PluginInfo`. Not a ``firstresult`` hook: kopflow calls each
        plugin's own implementation directly, before registering the plugin. Without this hook
        a plugin is named after its entry point (or module) and versioned from its
        distribution's metadata, and is assumed to target the current API version.

    When:
        Once per process, right after the plugin's module is imported and before any of its
        other hooks is registered. No database transaction is open. A plugin whose
        ``api_version`` differs from :data:`kopflow.plugin.PLUGIN_API_VERSION` is refused
        ("plugin X needs plugin API version N; this kopflow provides M") and none of its
        hooks run.

    Must not:
        Do any work (I/O, network, database): it must return constant data, fast.

    .. versionadded:: 0.1
    """
    raise NotImplementedError  # a spec: only the plugins' implementations are ever called


@hookspec
def kopflow_register_partners(register: Callable[[PartnerSpec], None]) -> None:
    """Declare the partners this plugin onboards cooperatives with, and their steps.

    Args:
        register: call it once per partner with a :class:`kopflow.plugin.PartnerSpec`.

    Returns:
        Nothing; the return value is ignored. Not a ``firstresult`` hook: every plugin is asked.

    When:
        Once per process, while the plugin host is built, before any command runs. No database
        transaction is open. kopflow checks every spec (code and step id format, labels in
        ``id`` and ``en``, ``after`` naming known steps without cycles, a required step never
        after an optional one) and refuses the whole plugin if one is malformed or if its
        partner code is already registered by another plugin; the error names the plugin.

    Must not:
        Do I/O or depend on the date, the environment or the database: the same code must
        declare the same partners on every run, because step keys (``bri.account``) are stored
        with the evidence. Never rename a partner code or a step id once it has been used.

    .. versionadded:: 0.1
    """


@hookspec
def kopflow_register_commands(cli: click.Group) -> None:
    """Add CLI commands or groups to ``kopflow``.

    Args:
        cli: the click group that holds the plugins' commands, which ``kopflow`` runs as its
            own; call ``cli.add_command(...)`` or use ``@cli.group()`` / ``@cli.command()``.
            Name your commands after your partner (``kopflow bri sync``) so they cannot clash
            with other plugins. A command reads kopflow's data through
            :class:`kopflow.plugin.Queries`: decorate it with ``@pass_queries`` (issue #13).

    Returns:
        Nothing; the return value is ignored. Not a ``firstresult`` hook.

    When:
        Once per process, when the command line names a command kopflow does not know, and for
        ``kopflow plugins list`` and ``plugins check``; never for ``kopflow --help``, which
        loads no plugin (its start-up must stay fast: issue #3) and points to ``plugins list``.
        No database transaction is open.

    Must not:
        Replace a command that already exists (kopflow restores the original and reports the
        plugin), import heavy modules at import time of your plugin (import them inside the
        command function: every command that loads plugins imports yours), or write to the
        database other than through kopflow's engine.

    .. versionadded:: 0.1
    """


# -------------------------------------------------------------------------------------------
# Deciding: called before a change is written; any reason refuses the change
# -------------------------------------------------------------------------------------------


@hookspec
def kopflow_validate_step(
    coop: CoopView, partner: str | None, step: str, evidence: Mapping[str, object]
) -> list[str] | None:
    """Check the evidence for a step before it is recorded, and give reasons to refuse it.

    Args:
        coop: the cooperative as it stands before this step (its ``evidence`` holds the other
            completed steps, e.g. ``coop.evidence_of("bri.loan_agreement")``).
        partner: the partner code for a partner step (``"bri"``), ``None`` for a built-in step
            of the workflow. Every plugin sees every step, unless the implementation is marked
            with :func:`kopflow.plugin.for_steps`: return ``None`` for steps that are not yours.
        step: the step's short id (``"account"`` for ``bri.account``, ``"musdesus"``).
        evidence: the new evidence, already parsed by the step's field specs (dates as ISO
            strings, rupiah and integers as ``int``, a multiple choice as a tuple); optional
            fields left blank are absent. Read-only: every plugin sees what was given.

    Returns:
        A list of reasons (one short sentence each, in the user's language: see
        :func:`kopflow.plugin.localize`) to refuse the evidence, or ``None`` / ``[]`` to accept
        it. Not a ``firstresult`` hook: every plugin is asked and all reasons are shown.
        Anything else returned is reported as a malformed return naming the plugin.

    When:
        Each time a step is completed or corrected (``kopflow step complete``, bulk imports,
        ``--dry-run`` included), after the field types were checked and before anything is
        written. The engine's database transaction is open, but the plugin gets no handle on
        it; if any plugin returns a reason or raises, the step is refused and nothing is
        written.

    Must not:
        Write anywhere, call other systems or take long (it runs for every cooperative of a
        bulk command). ``evidence`` and ``coop`` cannot be changed (``TypeError``).

    .. versionadded:: 0.1
    """


@hookspec
def kopflow_guard(coop: CoopView, event: str, source: str, dest: str) -> list[str] | None:
    """Give reasons to refuse a transition of a cooperative from one stage to another.

    Args:
        coop: the cooperative as it stands before the transition.
        event: the workflow event being fired (``"start_operation"``).
        source: the stage the cooperative is in.
        dest: the stage it would enter.

    Returns:
        A list of reasons (one short sentence each) to refuse, or ``None`` / ``[]`` to allow
        it. Not a ``firstresult`` hook: every plugin is asked and all reasons are shown,
        after the workflow's own checks (required steps of the stage, required steps of
        every enrolled partner). Anything else returned is reported as a malformed return.

    When:
        Each time a transition is attempted (``kopflow advance``, bulk advances and
        ``--dry-run``), after the workflow's own guards and before the state changes. The
        engine's database transaction is open, but the plugin gets no handle on it; if any
        plugin returns a reason or raises, the transition is refused and nothing is written.

    Must not:
        Write anywhere, call other systems or take long; or refuse events it does not
        understand: return ``None`` for anything that is not your business.

    .. versionadded:: 0.1
    """


@hookspec
def kopflow_guard_enroll(coop: CoopView, partner: str) -> list[str] | None:
    """Give reasons to refuse enrolling a cooperative with a partner.

    Args:
        coop: the cooperative as it stands before the enrolment (``coop.partners`` lists the
            partners it is enrolled with already; ``coop.evidence_of("sk_ahu")`` its decree).
        partner: the code of the partner it would be enrolled with (``"bri"``). Every plugin
            is asked about every partner: return ``None`` for partners that are not yours.

    Returns:
        A list of reasons (one short sentence each, in the user's language: see
        :func:`kopflow.plugin.localize`) to refuse, or ``None`` / ``[]`` to allow it. Not a
        ``firstresult`` hook: every plugin is asked and all reasons are shown, after the
        partner's own rules (``PartnerSpec.enroll_from`` and ``enroll_requires``). Anything
        else returned is reported as a malformed return naming the plugin.

    When:
        Each time a cooperative is enrolled with a partner it is not yet enrolled with
        (``kopflow partner enroll``, its bulk form and ``--dry-run``), before anything is
        written; never for a partner it is enrolled with already. The engine's database
        transaction is open, but the plugin gets no handle on it; if any plugin returns a
        reason or raises, the enrolment is refused and nothing is written.

    Must not:
        Write anywhere, call other systems or take long (it runs for every cooperative of a
        bulk enrolment); or refuse partners that are not yours.

    .. versionadded:: 0.1
    """


# -------------------------------------------------------------------------------------------
# Notifying: called after a change is committed; nothing a plugin does here can undo it
# -------------------------------------------------------------------------------------------


@hookspec
def kopflow_after_step(
    coop: CoopView, step: str, evidence: Mapping[str, object], audit_seq: int
) -> None:
    """React to a step that was recorded (notify a partner system, queue a follow-up).

    Args:
        coop: the cooperative after the change (``step`` is in ``coop.evidence``).
        step: the full step key: ``"musdesus"`` for a built-in step, ``"bri.account"`` for
            a partner step.
        evidence: the evidence that was recorded, read-only, as ``kopflow_validate_step``
            receives it.
        audit_seq: the sequence number of the audit event that recorded the step; quote it in
            anything you send so the two can be matched.

    Returns:
        Nothing; the return value is ignored. Not a ``firstresult`` hook.

    When:
        After the transaction that recorded the step has committed (in bulk commands, after
        the batch holding it commits). No database transaction is open. An exception is
        logged with the plugin's name, shown at the end of the command as one warning line
        on stderr, and never undoes the committed step; the other plugins
        are still called.

    Must not:
        Expect to be called exactly once per step (a crash between the commit and this call
        skips it: to notify a partner's system reliably use ``kopflow_partner_notification``
        and the outbox), or block for long.

    .. versionadded:: 0.1
    """


@hookspec
def kopflow_after_transition(
    coop: CoopView, event: str, source: str, dest: str, audit_seq: int
) -> None:
    """React to a cooperative that moved from one stage to another.

    Args:
        coop: the cooperative after the transition (``coop.stage == dest``).
        event: the workflow event that fired.
        source: the stage it left.
        dest: the stage it entered.
        audit_seq: the sequence number of the audit event that recorded the transition.

    Returns:
        Nothing; the return value is ignored. Not a ``firstresult`` hook.

    When:
        After the transaction that recorded the transition has committed (in bulk commands,
        after the batch holding it commits). No database transaction is open. An exception is
        logged with the plugin's name, shown at the end of the command as one warning line
        on stderr, and never undoes the committed transition; the other
        plugins are still called.

    Must not:
        Expect to be called exactly once per transition, or block for long.

    .. versionadded:: 0.1
    """


# -------------------------------------------------------------------------------------------
# The outbox (issue #13): notifications written with the change, delivered by `partner deliver`
# -------------------------------------------------------------------------------------------


@hookspec
def kopflow_partner_notification(
    coop: CoopView, action: str, details: Mapping[str, object], audit_seq: int
) -> Mapping[str, Mapping[str, object]] | None:
    """Ask for a notification to a partner about a change, written to the outbox with it.

    Args:
        coop: the cooperative after the change, as the after-hooks see it.
        action: the audit event's action: ``"step.completed"``, ``"step.corrected"``,
            ``"coop.transition"`` or ``"partner.enrolled"``.
        details: the audit event's details, read-only: ``step`` and ``evidence`` for a step,
            ``event``, ``from`` and ``to`` for a transition, ``partners`` (those just enrolled)
            for an enrolment.
        audit_seq: the sequence number of the audit event; it becomes the notification's
            idempotency key.

    Returns:
        ``None`` (no notification), or a mapping of partner code to payload: one row per
        partner, whose payload (a mapping that ``json.dumps`` can write) is handed to
        ``kopflow_deliver`` as it was returned. Only codes of partners this plugin registered
        are allowed. Not a ``firstresult`` hook: each plugin is asked for its own partners.

    When:
        In the transaction of the change, after its audit event is queued and before it
        commits, for every step recorded or corrected, every transition and every enrolment
        (bulk commands and ``--dry-run`` included; a dry run writes nothing). The row is
        written in that transaction: a committed change always has its notification and a
        refused one never has. A plugin that raises or returns anything else refuses the
        change (exit 6), as a validation hook does.

    Must not:
        Call the partner or do any I/O (``kopflow_deliver`` does that, later, outside the
        transaction), take long, or return a partner code of another plugin.

    .. versionadded:: 0.1
    """


@hookspec
def kopflow_deliver(
    partner: str, key: int, action: str, coop_id: str | None, payload: Mapping[str, object]
) -> None:
    """Deliver one outbox notification to the partner's own system.

    Args:
        partner: the partner code the notification is for (one of this plugin's).
        key: the idempotency key, the audit sequence number of the change: the partner's
            system must treat a second delivery with the same ``partner`` and ``key`` as the
            same notification (it can come again after a crash).
        action: the audit event's action, as ``kopflow_partner_notification`` received it.
        coop_id: the cooperative's id (``None`` for a change concerning none).
        payload: the payload ``kopflow_partner_notification`` returned, read back from the
            outbox, read-only.

    Returns:
        Nothing: returning means delivered. Raise any exception to say it was not; its text
        (one line) is recorded as the row's error. Not a ``firstresult`` hook: only the plugin
        that registered ``partner`` is called.

    When:
        By ``kopflow partner deliver [PARTNER]``, for each pending or failed row in audit
        order, at least once. No database transaction is open. A row is marked delivered in a
        transaction of its own once this returns, so a crash re-delivers at most the row in
        flight. A failure is retried with backoff (``--retries``, ``--backoff``); when the
        retries are used up, the row is marked failed with the error and the partner's later
        rows wait for the next run, so the order holds.

    Must not:
        Assume it is called exactly once per key, or write to kopflow's database.

    .. versionadded:: 0.1
    """
