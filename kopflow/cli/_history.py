"""History as a register (issue #12): each audit event or timeline entry as one sentence in the
reader's language, with labels, not ids, and values as people read them.

``coop show`` and ``audit log`` describe through here; ``--json`` keeps the full events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kopflow.cli._output import human
from kopflow.errors import KopflowError
from kopflow.i18n import _, label

if TYPE_CHECKING:
    from kopflow.engine import Kopflow


class Names:
    """Labels of the stages, events and steps an engine knows, each with its id in brackets."""

    def __init__(self, engine: Kopflow) -> None:
        self.engine = engine
        wf = engine.workflow
        self._stages = {s.id: label(s.label, s.id) for s in wf.stages}
        self._events = {e.name: label(e.label, e.name) for e in wf.events}

    def stage(self, stage_id: str) -> str:
        """``Pembentukan (formation)``; an id the workflow no longer has stays as it is."""
        text = self._stages.get(stage_id)
        return f"{text} ({stage_id})" if text and text != stage_id else stage_id

    def stage_label(self, stage_id: str) -> str:
        """Only the stage's label (tables have the id elsewhere)."""
        return self._stages.get(stage_id, stage_id)

    def event(self, name: str) -> str:
        """The event's label, its name in brackets."""
        text = self._events.get(name)
        return f"{text} ({name})" if text and text != name else name

    def step(self, key: str) -> str:
        """The step's label, its key (what a user types) in brackets."""
        try:
            spec = self.engine.step_spec(key)[0]
        except KopflowError:  # a partner's step whose plugin is gone: the key is all there is
            return key
        return f"{label(spec.label, key)} ({key})"

    def kinds(self, key: str) -> dict[str, str]:
        """Each evidence field's type (to show a rupiah amount as one)."""
        try:
            return {f.name: f.type for f in self.engine.step_spec(key)[0].fields}
        except KopflowError:
            return {}


def values(names: Names, step: str, evidence: dict[str, Any] | None) -> str:
    """``date: 2025-06-01, units: sembako, klinik``; ``-`` for none."""
    kinds = names.kinds(step)
    return "; ".join(f"{k}: {human(v, kinds.get(k))}" for k, v in (evidence or {}).items()) or "-"


def changes(
    names: Names, step: str, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> str:
    """What a correction changed: ``date: 2025-06-01 → 2025-06-02``, one field after another."""
    kinds = names.kinds(step)
    before, after = before or {}, after or {}
    parts = []
    for field in dict.fromkeys([*before, *after]):
        old, new = before.get(field), after.get(field)
        if old != new:
            shown_old = human(old, kinds.get(field)) or "-"
            shown_new = human(new, kinds.get(field)) or "-"
            parts.append(f"{field}: {shown_old} → {shown_new}")
    return "; ".join(parts) or _("no field changed")


def describe(
    names: Names, action: str, details: dict[str, Any], before: dict[str, Any] | None = None
) -> str:
    """One sentence for an audit event's ``action`` and ``details``.

    ``before`` is the evidence a correction replaced, when the reader knows it.
    """
    step = str(details.get("step", ""))
    reason = details.get("reason")
    if action == "step.completed":
        return _(
            "step {step} completed: {values}",
            step=names.step(step),
            values=values(names, step, details.get("evidence")),
        )
    if action == "step.corrected":
        changed = details.get("changed")
        if before is not None or changed is None:
            what = (
                changes(names, step, before, details.get("evidence"))
                if before is not None
                else values(names, step, details.get("evidence"))
            )
        else:
            what = _changed(names, step, changed)
        return _(
            "step {step} corrected ({reason}): {changes}",
            step=names.step(step),
            reason=reason or "-",
            changes=what,
        )
    if action == "step.undone":
        return _("step {step} undone: {reason}", step=names.step(step), reason=reason or "-")
    if action == "coop.transition":
        text = _(
            "{event}: moved from {source} to {dest}",
            source=names.stage(str(details.get("from"))),
            dest=names.stage(str(details.get("to"))),
            event=names.event(str(details.get("event"))),
        )
        return text + (_("; reason: {reason}", reason=reason) if reason else "")
    if action == "partner.enrolled":
        return _("enrolled with {partners}", partners=human(details.get("partners")))
    if action == "coop.registered":
        villages = ", ".join(str(v[1]) for v in details.get("villages") or [])
        return _(
            "registered: {villages}, {kabupaten} (from {source})",
            villages=villages or "-",
            kabupaten=details.get("kabupaten", "-"),
            source=details.get("source", "-"),
        )
    if action == "workflow.migrated":
        return _(
            "moved onto {workflow} version {to} (from version {source})",
            workflow=details.get("workflow", "-"),
            to=details.get("to", "-"),
            source=details.get("from", "-"),
        )
    if action == "actor.added":
        return _("actor {name} added as {role}", name=details.get("name"), role=details.get("role"))
    if action == "actor.disabled":
        return _("actor {name} disabled", name=details.get("name"))
    if action == "db.init":
        return _("database set up; admin {admin}", admin=details.get("admin", "-"))
    said = _partnership(action, details)
    if said is not None:
        return said
    return f"{action}: " + "; ".join(
        f"{k}: {human(v)}" for k, v in details.items() if k not in ("plugins", "coop_version")
    )


def _partnership(action: str, details: dict[str, Any]) -> str | None:
    """Sentences for the partnership events (issue #16); None for any other action."""
    if action == "forum.attended":
        who = details.get("rep_name")
        text = _("attended forum {forum}", forum=details.get("forum"))
        if who:
            text += " " + _(
                "(represented by {name}, {role})", name=who, role=details.get("rep_role") or "-"
            )
        return text
    if action == "lead.added":
        quantity = details.get("quantity")
        unit = details.get("unit")
        amount = "" if not quantity else f" ({quantity} {unit})" if unit else f" ({quantity})"
        text = _(
            "interest in {commodity}{amount} from {partner}",
            commodity=details.get("commodity"),
            amount=amount,
            partner=details.get("partner"),
        )
        if details.get("forum"):
            text += _(", at forum {forum}", forum=details.get("forum"))
        return text
    if action == "lead.advanced":
        from kopflow.cli.lead import state_name

        extra = "; ".join(
            f"{k}: {details[k]}"
            for k in ("number", "date", "term", "document", "reason")
            if details.get(k)
        )
        return _(
            "lead {lead}: {state}",
            lead=details.get("lead"),
            state=state_name(str(details.get("to"))),
        ) + (f" ({extra})" if extra else "")
    return None


def _changed(names: Names, step: str, changed: Any) -> str:
    """A correction event's own record of its changes (``{field: [old, new]}``, or names)."""
    if isinstance(changed, dict):
        kinds = names.kinds(step)
        parts = []
        for field, pair in changed.items():
            if isinstance(pair, list | tuple) and len(pair) == 2:
                old, new = (human(v, kinds.get(field)) or "-" for v in pair)
                parts.append(f"{field}: {old} → {new}")
            else:
                parts.append(f"{field}: {human(pair, kinds.get(field))}")
        return "; ".join(parts)
    return human(changed)


def timeline_sentences(names: Names, timeline: list[dict[str, Any]]) -> list[str]:
    """Each entry of a cooperative's timeline (rules.queries.timeline) as a sentence, in order;
    a correction names the fields it changed from the version before."""
    last: dict[str, dict[str, Any]] = {}
    said = []
    for item in timeline:
        if item["kind"] == "step":
            step = item["what"]
            details = {"step": step, "evidence": item.get("evidence"), "reason": item["reason"]}
            if item["status"] != "done":
                said.append(describe(names, "step.undone", details))
                last.pop(step, None)
                continue
            before = last.get(step)
            action = "step.corrected" if before is not None else "step.completed"
            said.append(describe(names, action, details, before))
            last[step] = item.get("evidence") or {}
        elif item["kind"] == "transition":
            details = {
                "from": item["from"],
                "to": item["to"],
                "event": item["what"],
                "reason": item["reason"],
            }
            said.append(describe(names, "coop.transition", details))
        elif item["kind"] == "enrollment":
            said.append(describe(names, "partner.enrolled", {"partners": [item["what"]]}))
        else:
            said.append(describe(names, item["kind"], item.get("details") or {}))
    return said
