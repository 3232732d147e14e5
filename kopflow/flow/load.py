"""Reading a workflow YAML file into specs while collecting every problem with its path.

Private to :mod:`kopflow.flow.spec`, which owns the specs and the public ``load_workflow``.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import reprlib
from decimal import Decimal
from pathlib import Path
from typing import Any

from kopflow import i18n
from kopflow.flow.patterns import pattern_problem
from kopflow.flow.spec import (
    _DECIMAL,
    _IDENT,
    _ISO_DATE,
    FIELD_TYPES,
    PREVIOUS,
    STANDARD_FIELDS,
    EventSpec,
    FieldSpec,
    StageSpec,
    StepSpec,
    Workflow,
)
from kopflow.i18n import N_, _
from kopflow.text import excerpt

# kdkmp.yaml has 14 kB; a file a hundred times larger is no definition (issue #14).
MAX_WORKFLOW_BYTES = 1024 * 1024

# --- loading and validation ----------------------------------------------------------------

# The keys of each mapping in the format as "key:check"; "!" marks a required key. Any other key
# is refused, so a typo ("stpes") is reported instead of ignored. A check names a ``_Builder``
# method ``_<check>``; "true"/"false" are booleans defaulting to that value.
_SCHEMAS = {
    "workflow": "name!:ident version!:count label!:label roles!:idents choices:raw "
    "required_partners:idents onboarding_stage!:ident initial!:ident stages!:list events!:list",
    "stage": "id!:ident label!:label sla_days:count side:false final:false steps:list",
    "step": "id!:ident label!:label role!:ident required:true after:idents fields:list",
    "field": "name!:ident type!:raw label!:label required:true hint:label choices:raw "
    "multiple:false pattern:raw min:raw max:raw odd:false unique:false not_before:raw "
    "min_date:raw min_date_unless:raw exclusive:raw unit:label",
    "event": "name!:ident label!:label from!:idents to!:raw reason_required:false advance:false",
}
_DEFAULTS: dict[str, Any] = {
    "ident": "", "label": {}, "idents": (), "list": (), "true": True, "false": False,
}  # fmt: skip
# Options that make sense for some field types only: elsewhere they are most likely a mistake.
_OPTION_TYPES = {
    "choices": ("choice",), "multiple": ("choice",), "pattern": ("reference",),
    "min": ("integer", "rupiah", "decimal"), "max": ("integer", "rupiah", "decimal"),
    "odd": ("integer",), "exclusive": ("integer", "rupiah", "decimal"),
    "unit": ("integer", "rupiah", "decimal"),
    "unique": ("text", "reference", "integer"), "not_before": ("date",), "min_date": ("date",),
    "min_date_unless": ("date",),
}  # fmt: skip


# A reference to a field of another step: "notary_deed.deed_date".
_REF = re.compile(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*")


def _join(path: str, key: object) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else str(key)


class _Builder:
    """Walks the parsed document into best-effort specs, collecting every problem on the way.

    A failed check reports and substitutes a neutral value, so one mistake does not hide the
    next and the cross-checks (ids, reachability, ``after``) still run over what could be read.
    """

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[str] = []
        self.choices: dict[str, tuple[str, ...]] = {}
        self.labels: dict[str, dict[str, dict[str, str]]] = {}
        self.steps: list[tuple[str, str, StepSpec]] = []  # (path, stage id, step) for cross-checks
        self.refs: list[tuple[str, str, str]] = []  # (path, reference, type wanted): cross-checked
        self.unless_values: list[tuple[str, str, tuple[str, ...]]] = []
        self.untyped: set[int] = set()  # ids of fields whose type was refused: compare nothing

    def add(self, path: str, msgid: str, **params: object) -> None:
        where = excerpt(path, 200) if path else "(document)"  # a key may be a hostile file's
        self.problems.append(f"{self.file}: {where}: {_(msgid, **params)}")

    def read(self, node: object, path: str, schema: str) -> dict[str, Any] | None:
        """Check a mapping against ``_SCHEMAS[schema]``: the checked values, defaults filled in."""
        if not isinstance(node, dict):
            self._bad(path, N_("a mapping"), node)
            return None
        keys = dict(k.split(":") for k in _SCHEMAS[schema].split())
        names = [k.rstrip("!") for k in keys]
        for key in [k for k in node if k not in names]:
            self.add(_join(path, key), "unknown key; expected one of {keys}", keys=", ".join(names))
        out = {}
        for key, check in keys.items():
            name = key.rstrip("!")
            if name in node:
                out[name] = getattr(self, "_" + check)(node[name], _join(path, name))
            elif key.endswith("!"):
                self.add(_join(path, name), "required key is missing")
            out.setdefault(name, _DEFAULTS.get(check))
        return out

    def _bad(self, path: str, expected: str, node: object) -> Any:
        """Report ``node`` as not what was expected; ``None`` so callers can ``or`` a default."""
        # reprlib stops early in a deep or long value; excerpt bounds what is left (issue #14)
        value = excerpt(reprlib.repr(node))
        self.add(path, "expected {expected}, got {value}", expected=_(expected), value=value)
        return None

    def _raw(self, node: object, path: str) -> Any:
        return node

    def _ident(self, node: object, path: str) -> str:
        if isinstance(node, str) and _IDENT.fullmatch(node):
            return node
        return (
            self._bad(path, N_("an identifier (a-z, 0-9 and _, starting with a letter)"), node)
            or ""
        )

    def _true(self, node: object, path: str) -> bool:
        return node if isinstance(node, bool) else bool(self._bad(path, N_("true or false"), node))

    _false = _true

    def _int(self, node: object, path: str, least: int | None = None) -> int | None:
        if (
            isinstance(node, int)
            and not isinstance(node, bool)
            and (least is None or node >= least)
        ):
            return node
        self._bad(path, N_("a positive whole number") if least else N_("a whole number"), node)
        return None

    def _count(self, node: object, path: str) -> int | None:
        return self._int(node, path, least=1)

    def _list(self, node: object, path: str) -> list[Any]:
        return node if isinstance(node, list) else self._bad(path, N_("a list"), node) or []

    def _label(self, node: object, path: str) -> dict[str, str]:
        if not isinstance(node, dict):
            return self._bad(path, N_("a label with 'id' and 'en' texts"), node) or {}
        for lang in [k for k in node if k not in i18n.LANGUAGES]:
            self.add(_join(path, lang), "unknown key; expected one of {keys}", keys="id, en")
        for lang in i18n.LANGUAGES:
            if lang not in node:
                self.add(_join(path, lang), "required key is missing")
            elif not isinstance(node[lang], str) or not node[lang].strip():
                self._bad(_join(path, lang), N_("non-empty text"), node[lang])
        return {k: v for k, v in node.items() if k in i18n.LANGUAGES}

    def _idents(self, node: object, path: str) -> tuple[str, ...]:
        if isinstance(node, str):  # "from: formation" reads as well as "from: [formation]"
            return (self._ident(node, path),)
        out: list[str] = []
        for i, item in enumerate(self._list(node, path)):
            if (value := self._ident(item, _join(path, i))) and value in out:
                self.add(_join(path, i), "duplicate value '{value}'", value=value)
            out.append(value)
        return tuple(dict.fromkeys(v for v in out if v))

    def choice_lists(self, node: object) -> None:
        if not isinstance(node, dict):
            self._bad("choices", N_("a mapping"), node)
            return
        for name, values in node.items():
            if not self._ident(name, path := _join("choices", name)):
                continue
            if not isinstance(values, dict) or not values:
                self._bad(path, N_("a mapping of value: label"), values)
                continue
            self.labels[name] = {v: self._label(lab, _join(path, v)) for v, lab in values.items()}
            self.choices[name] = tuple(v for v in values if self._ident(v, _join(path, v)))

    def field(self, node: Any, path: str) -> FieldSpec | None:
        if (v := self.read(node, path, "field")) is None:
            return None
        ftype, listname, pattern = v["type"], v["choices"], v["pattern"]
        if v["name"] in {f.name for f in STANDARD_FIELDS}:
            msgid = N_("'{name}' is a standard field every step already has; remove it")
            self.add(_join(path, "name"), msgid, name=v["name"])
        if ftype not in FIELD_TYPES and ftype is not None:
            msgid = N_("unknown field type '{type}'; expected one of {types}")
            self.add(_join(path, "type"), msgid, type=ftype, types=", ".join(FIELD_TYPES))
        ftype = ftype if ftype in FIELD_TYPES else "text"
        for key in [k for k in node if k in _OPTION_TYPES and ftype not in _OPTION_TYPES[k]]:
            msgid = N_("only {types} fields take this key")
            self.add(_join(path, key), msgid, types=" / ".join(_OPTION_TYPES[key]))
        if ftype == "choice" and listname not in self.choices:
            msgid = N_("a choice field needs 'choices': one of the lists under 'choices' ({lists})")
            self.add(_join(path, "choices"), msgid, lists=", ".join(self.choices) or "-")
        if pattern is not None and not isinstance(pattern, str):
            expected = N_("a quoted regular expression, e.g. '[0-9]+'")
            pattern = self._bad(_join(path, "pattern"), expected, pattern)
        # The engine matches with RE2 (kopflow.flow.patterns): refuse here what it refuses.
        if pattern and (problem := pattern_problem(pattern)) is not None:
            msgid = N_(
                "field {field}: the pattern is refused: {error}; patterns are RE2 "
                "expressions (no backreferences or lookaround)"
            )
            self.add(_join(path, "pattern"), msgid, field=v["name"], error=excerpt(problem))
        v["min"], v["max"] = (self._bound(v[k], _join(path, k), ftype) for k in ("min", "max"))
        if v["min"] is not None and v["max"] is not None and v["min"] > v["max"]:
            self.add(_join(path, "max"), "max is below min ({min})", min=v["min"])
        exclusive = v["exclusive"] if v["exclusive"] is not None else False
        if exclusive not in (True, False, "min", "max"):
            exclusive = self._bad(
                _join(path, "exclusive"), N_("true, false, min or max"), exclusive
            )
        listname = listname if ftype == "choice" and listname in self.choices else None
        # On a field of another type these keys are reported above: nothing more to check.
        dated = ftype == "date"
        not_before = self._refs(v["not_before"] if dated else None, _join(path, "not_before"))
        min_date = self._date(v["min_date"] if dated else None, _join(path, "min_date"))
        unless = self._unless(
            v["min_date_unless"] if dated else None, _join(path, "min_date_unless")
        )
        if unless and min_date is None:
            self.add(_join(path, "min_date_unless"), "only a field with min_date takes this key")
        spec = FieldSpec(
            v["name"], ftype, v["label"], v["required"], self.choices.get(listname or "", ()),
            v["multiple"], pattern if ftype == "reference" else None, v["min"], v["max"], v["odd"],
            v["hint"] or None, listname, v["unique"] and ftype in _OPTION_TYPES["unique"],
            not_before if ftype == "date" else (), min_date if ftype == "date" else None,
            unless if ftype == "date" else None,
            exclusive or False, v["unit"] or None, self.labels.get(listname or "") or None,
        )  # fmt: skip
        if v["type"] not in FIELD_TYPES:
            self.untyped.add(id(spec))
        return spec

    def _bound(self, node: object, path: str, ftype: str) -> int | Decimal | None:
        """``min``/``max``: a whole number, or for a decimal field any exact decimal (issue #13);
        ``0.5`` as YAML reads it (a float) counts as the digits written."""
        if node is None or ftype not in _OPTION_TYPES["min"]:
            return None
        if ftype != "decimal":
            return self._int(node, path)
        text = repr(node) if isinstance(node, float) else node
        if isinstance(text, int) and not isinstance(text, bool):
            return Decimal(text)
        if isinstance(text, str) and _DECIMAL.fullmatch(text.strip()):
            return Decimal(text.strip().replace(",", "."))
        self._bad(path, N_("a decimal number, e.g. 0.5"), node)
        return None

    def _refs(self, node: object, path: str) -> tuple[str, ...]:
        """``not_before``: references ``step.field`` to date fields, checked once all are read."""
        if node is None:
            return ()
        items = [node] if isinstance(node, str) else self._list(node, path)
        out = []
        for i, item in enumerate(items):
            where = path if isinstance(node, str) else _join(path, i)
            if not isinstance(item, str) or not _REF.fullmatch(item):
                self._bad(where, N_("a reference step.field, e.g. notary_deed.deed_date"), item)
                continue
            self.refs.append((where, item, "date"))
            out.append(item)
        return tuple(out)

    def _date(self, node: object, path: str) -> str | None:
        if node is None:
            return None
        if isinstance(node, datetime.date) and not isinstance(node, datetime.datetime):
            return node.isoformat()
        if isinstance(node, str) and _ISO_DATE.fullmatch(node):
            try:
                return datetime.date.fromisoformat(node).isoformat()
            except ValueError:
                pass
        self._bad(path, N_("a date YYYY-MM-DD"), node)
        return None

    def _unless(self, node: object, path: str) -> dict[str, tuple[str, ...]] | None:
        """``min_date_unless``: ``{step.field: [choice values]}``, each lifting ``min_date``."""
        if node is None:
            return None
        if not isinstance(node, dict) or not node:
            self._bad(path, N_("a mapping of step.field: [values]"), node)
            return None
        out: dict[str, tuple[str, ...]] = {}
        for ref, values in node.items():
            where = _join(path, ref)
            if not isinstance(ref, str) or not _REF.fullmatch(ref):
                self._bad(where, N_("a reference step.field, e.g. notary_deed.deed_date"), ref)
                continue
            self.refs.append((where, ref, "choice"))
            out[ref] = self._idents(values, where)
            self.unless_values.append((where, ref, out[ref]))
        return out

    def step(self, node: object, path: str, roles: tuple[str, ...]) -> StepSpec | None:
        if (v := self.read(node, path, "step")) is None:
            return None
        if v["role"] and v["role"] not in roles:
            msgid = N_("unknown role '{role}'; roles: {roles}")
            self.add(_join(path, "role"), msgid, role=v["role"], roles=", ".join(roles))
        fields = [self.field(f, f"{path}.fields[{i}]") for i, f in enumerate(v["fields"])]
        names = [f.name if f else "" for f in fields]
        for i, name in enumerate(names):
            if name and name in names[:i]:
                self.add(f"{path}.fields[{i}].name", "duplicate field name '{name}'", name=name)
        kept = tuple(f for f in fields if f)
        return StepSpec(v["id"], v["label"], v["role"], v["required"], v["after"], kept)

    def stage(self, node: object, path: str, roles: tuple[str, ...]) -> StageSpec | None:
        if (v := self.read(node, path, "stage")) is None:
            return None
        if v["side"] and v["sla_days"] is not None:
            self.add(f"{path}.sla_days", "side stages have no deadline; remove sla_days")
        for j, item in enumerate(v["steps"]):
            if step := self.step(item, f"{path}.steps[{j}]", roles):
                self.steps.append((f"{path}.steps[{j}]", v["id"], step))
        kept = tuple(st for p, _sid, st in self.steps if p.startswith(f"{path}."))
        return StageSpec(v["id"], v["label"], v["sla_days"], kept, v["side"], v["final"])

    def event(self, node: object, path: str) -> EventSpec | None:
        if (v := self.read(node, path, "event")) is None:
            return None
        dest = v["to"] if v["to"] in (PREVIOUS, None) else self._ident(v["to"], f"{path}.to")
        return EventSpec(
            v["name"], v["label"], v["from"], dest or "", v["reason_required"], v["advance"]
        )

    def workflow(self, doc: object, path: str, digest: str) -> Workflow | None:
        """Build the whole definition; ``None`` when the document is not even a mapping."""
        if (top := self.read(doc, "", "workflow")) is None:
            return None
        if top["choices"] is not None:
            self.choice_lists(top["choices"])
        stages: list[tuple[str, StageSpec]] = []
        for i, node in enumerate(top["stages"]):
            if stage := self.stage(node, f"stages[{i}]", top["roles"]):
                stages.append((f"stages[{i}]", stage))
        events: list[tuple[str, EventSpec]] = []
        for i, node in enumerate(top["events"]):
            if event := self.event(node, f"events[{i}]"):
                events.append((f"events[{i}]", event))
        by_side = sorted((s for _p, s in stages), key=lambda s: s.side)  # stable: main line first
        wf = Workflow(
            top["name"], top["version"], top["label"], top["initial"], top["roles"], tuple(by_side),
            tuple(e for _p, e in events), dict(self.choices), dict(self.labels),
            top["required_partners"], top["onboarding_stage"], path, digest,
        )  # fmt: skip
        self.cross_check(wf, stages, events)
        return wf

    def cross_check(
        self, wf: Workflow, stages: list[tuple[str, StageSpec]], events: list[tuple[str, EventSpec]]
    ) -> None:
        """The checks that need the whole document: ids, references, reachability, ordering."""
        for what, items in (
            (N_("stage id"), [(f"{p}.id", s.id) for p, s in stages]),
            (N_("step id"), [(f"{p}.id", st.id) for p, _sid, st in self.steps]),
            (N_("event name"), [(f"{p}.name", e.name) for p, e in events]),
        ):
            for i, (p, value) in enumerate(items):
                if value and value in [v for _p, v in items[:i]]:
                    self.add(p, "duplicate {what} '{value}'", what=_(what), value=value)
        by_id: dict[str, StageSpec] = {}
        for _p, stage in stages:
            by_id.setdefault(stage.id, stage)  # the first of duplicates counts, as in lookups
        main = list(dict.fromkeys(s.id for s in wf.main_stages()))
        for key in ("initial", "onboarding_stage"):
            if (value := getattr(wf, key)) and value not in main:
                msgid = N_("'{stage}' is not a main stage; main stages: {stages}")
                self.add(key, msgid, stage=value, stages=", ".join(main))
        for p, e in events:
            for i, sid in enumerate(e.sources + (e.dest,)):
                where = f"{p}.from[{i}]" if i < len(e.sources) else f"{p}.to"
                if sid not in by_id and sid not in ("", PREVIOUS):
                    msgid = N_("unknown stage '{stage}'; stages: {stages}")
                    self.add(where, msgid, stage=sid, stages=", ".join(by_id))
                elif sid in by_id and by_id[sid].final and i < len(e.sources):
                    self.add(where, "stage '{stage}' is final: no event may leave it", stage=sid)
            if e.dest == PREVIOUS and not all(by_id[s].side for s in e.sources if s in by_id):
                self.add(f"{p}.to", "'@previous' only returns from side stages (such as suspended)")
            # advance_event() must be unambiguous and may only move forward on the main line.
            if e.advance and not all(
                s in main and e.dest in main[main.index(s) + 1 :] for s in e.sources
            ):
                self.add(
                    f"{p}.advance", "an advance event must lead from main stages to a later one"
                )
        for sid in main:
            if len(names := [e.name for e in wf.events if e.advance and sid in e.sources]) > 1:
                msgid = N_("several advance events leave '{stage}': {events}; mark only one")
                self.add("events", msgid, stage=sid, events=", ".join(names))
        placed = {st.id: (sid, st) for _p, sid, st in reversed(self.steps)}  # first one counts
        for p, sid, st in self.steps:
            for i, dep in enumerate(st.after):
                if placed.get(dep, ("",))[0] != sid:
                    here = ", ".join(s.id for s in by_id[sid].steps) if sid in by_id else "-"
                    msgid = N_("'{step}' is not a step of this stage ({steps})")
                    self.add(f"{p}.after[{i}]", msgid, step=dep, steps=here)
                elif st.required and not placed[dep][1].required:
                    # The optional step would silently become required: say so instead.
                    msgid = N_("required step '{step}' comes after optional step '{after}'")
                    self.add(f"{p}.after[{i}]", msgid, step=st.id, after=dep)
        for p, s in stages:
            graph: dict[str, list[str]] = {}
            for st in s.steps:
                graph.setdefault(st.id, list(st.after))  # the first of duplicates counts
            if cycle := _cycle(graph):
                self.add(f"{p}.steps", "'after' forms a cycle: {cycle}", cycle=" -> ".join(cycle))
        self.check_refs(placed)
        # transitions accepts stages nothing leads to; an unreachable stage is always a mistake.
        reached, todo = {wf.initial}, [wf.initial]
        while todo:
            for e in wf.events_from(todo.pop()):
                if e.dest not in reached:
                    reached.add(e.dest)
                    todo.append(e.dest)
        for p, s in stages:
            if wf.initial in by_id and s.id and s.id not in reached:
                msgid = N_("stage '{stage}' cannot be reached from the initial stage '{initial}'")
                self.add(p, msgid, stage=s.id, initial=wf.initial)
            ways = [e for e in wf.events_from(s.id) if e.dest in main]
            if not s.side and s.id != main[-1] and not ways:
                msgid = N_(
                    "main stage '{stage}' has no way forward: no event leads to another main stage"
                )
                self.add(p, msgid, stage=s.id)

    def check_refs(self, placed: dict[str, tuple[str, StepSpec]]) -> None:
        """``not_before`` and ``min_date_unless`` name a field of the type they compare."""
        for path, ref, wanted in self.refs:
            step_id, _dot, name = ref.partition(".")
            found = placed.get(step_id)
            field = next((f for f in found[1].fields if f.name == name), None) if found else None
            if field is None:
                msgid = N_("'{ref}' is not a field of a step of this workflow")
                self.add(path, msgid, ref=ref)
            elif id(field) in self.untyped:
                continue  # its type is reported already
            elif field.type != wanted:
                msgid = N_("'{ref}' is a {type} field; this key compares {wanted} fields")
                self.add(path, msgid, ref=ref, type=field.type, wanted=wanted)
            elif wanted == "choice":
                for value in next((v for p, r, v in self.unless_values if p == path), ()):
                    if value not in field.choices:
                        msgid = N_("'{value}' is not a choice of {ref}; choices: {choices}")
                        choices = ", ".join(field.choices)
                        self.add(path, msgid, value=value, ref=ref, choices=choices)


def _cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A cycle in ``graph`` (node -> nodes it waits on) as a closed path, or ``None``."""
    done: set[str] = set()

    def visit(node: str, trail: list[str]) -> list[str] | None:
        if node in trail:
            return trail[trail.index(node) :] + [node]
        if node in done or node not in graph:
            return None
        found = next((c for nxt in graph[node] if (c := visit(nxt, trail + [node]))), None)
        done.add(node)
        return found

    return next((c for node in graph if (c := visit(node, []))), None)


def _scalar_text(loader: Any, node: Any) -> str:
    return str(loader.construct_scalar(node))


# The parsed document of a definition file, kept as JSON with the sha256 of the file's bytes
# (issue #15): importing PyYAML and parsing kdkmp.yaml cost ~35 ms of CPU at every command's
# start, reading the JSON 0.3 ms. The file stays the one source: a document is used only for
# the very bytes it was parsed from, and is checked as a freshly parsed one is. One entry per
# file (named after its path), so editing a definition replaces its entry instead of adding
# one. A document is kept only when its YAML parsed without any problem and JSON gives it back
# equal (no key that is not text, no value JSON has not). Change _PARSE_FORMAT whenever how
# YAML is read changes (the loaders below).
_PARSE_FORMAT = "1"


def parse_cache_dir() -> Path:
    """Where parsed definitions are kept: ``$XDG_CACHE_HOME/kopflow``, else ``~/.cache/kopflow``."""
    import os

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kopflow"


def _cache_file(path: Path) -> Path:
    import os

    where = hashlib.sha256(os.fsencode(path.resolve())).hexdigest()[:24]
    return parse_cache_dir() / f"workflow-{_PARSE_FORMAT}-{where}.json"


def _cached(path: Path, sha: str) -> object | None:
    import json

    try:
        entry = json.loads(_cache_file(path).read_bytes())
    except (OSError, ValueError):  # none yet, unreadable or torn: parse the YAML
        return None
    if not isinstance(entry, dict) or entry.get("sha256") != sha:
        return None  # the file changed since
    return entry.get("doc")


def _keep(path: Path, sha: str, doc: object) -> None:
    import json
    import os

    if doc is None or json.loads(json.dumps(doc)) != doc:
        return
    target = _cache_file(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(f"{target.name}.{os.getpid()}")
        part.write_text(json.dumps({"sha256": sha, "doc": doc}, ensure_ascii=False), "utf-8")
        os.replace(part, target)  # whole or absent, whoever reads it meanwhile
    except OSError:
        pass  # a read-only home: the next command parses again


def _read(path: Path, builder: _Builder) -> tuple[object, str] | None:
    """The parsed YAML and the file's sha256, or ``None`` after reporting why it is unreadable."""
    try:
        size = path.stat().st_size
        if size > MAX_WORKFLOW_BYTES:  # a definition is some kilobytes; refuse before reading
            msgid = N_("the file has {size} bytes, more than a workflow may have ({limit})")
            builder.add("", msgid, size=size, limit=MAX_WORKFLOW_BYTES)
            return None
        data = path.read_bytes()
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        builder.add("", "cannot read the file: {error}", error=getattr(exc, "strerror", 0) or exc)
        return None
    sha = hashlib.sha256(data).hexdigest()
    doc = _cached(path, sha)
    if doc is None:
        parsed = _parse(text, builder)
        if parsed is None:
            return None
        (doc,) = parsed
        if not builder.problems:  # a repeated key is reported again at every load
            _keep(path, sha, doc)
    return doc, sha


def _parse(text: str, builder: _Builder) -> tuple[object] | None:
    """The YAML document (in a tuple: an empty file is ``None``), or ``None`` after reporting
    why it is no YAML on ``builder``."""
    import yaml  # here, not at the top: ``kopflow --help`` must not pay for it

    repeated: list[tuple[Any, str]] = []

    class Loader(yaml.SafeLoader):
        """``safe_load``, but a repeated key is reported: PyYAML silently keeps the last one."""

        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            keys = [k.value for k, _v in node.value]
            repeated.extend(
                (k.start_mark, k.value)
                for i, (k, _v) in enumerate(node.value)
                if k.value in keys[:i]
            )
            return yaml.constructor.SafeConstructor.construct_mapping(self, node, deep)

        def construct_object(self, node: Any, deep: bool = False) -> Any:
            # A node met a second time is an alias (*name): refused, so a few lines of
            # "billion laughs" cannot expand into gigabytes (issue #14). A definition
            # repeats nothing that needs one.
            if node in self.constructed_objects or node in self.recursive_objects:
                raise yaml.constructor.ConstructorError(
                    None, None, _(
                        "this value is repeated through an alias (*name); aliases are not "
                        "allowed in a workflow file"
                    ),
                    node.start_mark,
                )  # fmt: skip
            return yaml.constructor.SafeConstructor.construct_object(self, node, deep)

    # libyaml's parser when PyYAML has it: every command reads the definition, and the pure
    # Python parser took 30 ms of it (issue #5). Errors still come from the Python parser
    # below, so their wording does not depend on how PyYAML was built.
    class FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]  # a base chosen at run time
        construct_mapping = Loader.construct_mapping
        construct_object = Loader.construct_object

    # Dates stay text, checked where a date is expected (min_date): PyYAML's own conversion
    # raises a bare ValueError on an impossible date such as 2025-13-01.
    for loader in (Loader, FastLoader):
        loader.add_constructor("tag:yaml.org,2002:timestamp", _scalar_text)

    def where(mark: Any) -> str:
        return _("line {line}, column {column}", line=mark.line + 1, column=mark.column + 1)

    try:
        try:
            doc = yaml.load(text, Loader=FastLoader)  # noqa: S506 -- a safe loader
        except yaml.YAMLError:
            repeated.clear()
            doc = yaml.load(text, Loader=Loader)  # noqa: S506 -- Loader is a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or exc
        builder.add(where(mark) if mark else "", "invalid YAML: {error}", error=problem)
        return None
    for mark, key in repeated:
        builder.add(where(mark), "duplicate key '{key}'", key=key)
    return (doc,)
