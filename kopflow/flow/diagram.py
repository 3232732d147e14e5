"""Workflow diagrams (Mermaid and Graphviz dot), drawn from the machine the engine fires.

Reading the transitions back from the built machine, rather than from the YAML, keeps the
picture and the engine from ever disagreeing (issue #6).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kopflow.i18n import label

if TYPE_CHECKING:
    from kopflow.flow.spec import Workflow


def edges(workflow: Workflow) -> list[tuple[str, str, str]]:
    """(source, dest, event) of every transition the machine knows, without duplicates."""
    from kopflow.flow.machine import machine_for

    seen: list[tuple[str, str, str]] = []
    for name, event in machine_for(workflow).events.items():
        for source, transitions in event.transitions.items():
            for transition in transitions:
                # An internal transition (no dest) stays where it is: a loop.
                edge = (source, transition.dest or source, name)
                if edge not in seen:
                    seen.append(edge)
    return seen


def mermaid(workflow: Workflow) -> str:
    """A Mermaid ``stateDiagram-v2`` of the workflow, stage labels in the current language."""
    lines = ["stateDiagram-v2", f"    [*] --> {workflow.initial}"]
    for stage in workflow.stages:
        lines.append(f"    {stage.id} : {label(stage.label, stage.id)}")
    for source, dest, event in edges(workflow):
        lines.append(f"    {source} --> {dest} : {event}")
    for stage in workflow.stages:
        if stage.final:
            lines.append(f"    {stage.id} --> [*]")
    return "\n".join(lines) + "\n"


def dot(workflow: Workflow) -> str:
    """A Graphviz ``digraph`` of the workflow."""

    def quote(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [
        f"digraph {quote(workflow.name)} {{",
        "  rankdir=LR;",
        "  node [shape=box, style=rounded];",
    ]
    for stage in workflow.stages:
        shape = ", shape=doubleoctagon" if stage.final else (", style=dashed" if stage.side else "")
        lines.append(f"  {quote(stage.id)} [label={quote(label(stage.label, stage.id))}{shape}];")
    for source, dest, event in edges(workflow):
        lines.append(f"  {quote(source)} -> {quote(dest)} [label={quote(event)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
