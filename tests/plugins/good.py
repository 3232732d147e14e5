"""A well-behaved plugin: partner ``demo``, a refusing validator and guard, a command, a log."""

from __future__ import annotations

from collections.abc import Callable

import click

from kopflow.plugin import CoopView, FieldSpec, PartnerSpec, PluginInfo, StepSpec, hookimpl

CALLS: list[tuple[str, object]] = []  # what the notification hooks saw; tests clear it

PARTNER = PartnerSpec(
    code="demo",
    name={"id": "Mitra contoh", "en": "Demo partner"},
    steps=(
        StepSpec("first", {"id": "Pertama", "en": "First"}, "partner",
                 fields=(FieldSpec("ref", "reference", {"id": "Nomor", "en": "Number"}),)),
        StepSpec("second", {"id": "Kedua", "en": "Second"}, "partner", after=("first",)),
        StepSpec("extra", {"id": "Tambahan", "en": "Extra"}, "partner", required=False),
    ),
)  # fmt: skip


@hookimpl
def kopflow_plugin_info() -> PluginInfo:
    return PluginInfo(name="good", version="1.2.3")


@hookimpl
def kopflow_register_partners(register: Callable[[PartnerSpec], None]) -> None:
    register(PARTNER)


@hookimpl
def kopflow_validate_step(
    coop: CoopView, partner: str | None, step: str, evidence: dict[str, object]
) -> list[str] | None:
    if evidence.get("ref") == "refuse":
        return [f"demo refuses {partner}.{step} for {coop.id}"]
    return None


@hookimpl
def kopflow_guard(coop: CoopView, event: str, source: str, dest: str) -> list[str] | None:
    return [f"demo blocks {event} from {source} to {dest}"] if event == "block" else []


@hookimpl
def kopflow_guard_enroll(coop: CoopView, partner: str) -> list[str] | None:
    return [f"demo refuses {coop.id} for {partner}"] if partner == "blocked" else None


@hookimpl
def kopflow_after_step(
    coop: CoopView, step: str, evidence: dict[str, object], audit_seq: int
) -> None:
    CALLS.append(("after_step", (coop.id, step, audit_seq)))


@hookimpl
def kopflow_after_transition(
    coop: CoopView, event: str, source: str, dest: str, audit_seq: int
) -> None:
    CALLS.append(("after_transition", (coop.id, event, source, dest, audit_seq)))


@hookimpl
def kopflow_register_commands(cli: click.Group) -> None:
    @cli.command(name="demo-hello")
    def demo_hello() -> None:
        """Say hello from the demo plugin."""
        click.echo("hello from demo")


@hookimpl
def kopflow_partner_notification(
    coop: CoopView, action: str, details: dict[str, object], audit_seq: int
) -> object:
    CALLS.append(("partner_notification", (coop.id, action, audit_seq)))
    if action == "test.bad":
        return ["not", "a mapping"]
    if action == "test.foreign":
        return {"bri": {"coop": coop.id}}
    return {"demo": {"coop": coop.id, **details}} if "demo" in coop.partners else None


@hookimpl
def kopflow_deliver(
    partner: str, key: int, action: str, coop_id: str | None, payload: dict[str, object]
) -> None:
    CALLS.append(("deliver", (partner, key, action, coop_id, dict(payload))))
    if payload.get("fail"):
        raise ConnectionError("demo system down\nsecond line")
