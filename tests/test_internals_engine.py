"""The library internals the engine's speed leans on (issue #15, point 5), each checked so that
a change in the library fails here, loudly and saying what to do, instead of making kopflow
silently slower or wrong.

* ``json.encoder.c_make_encoder``: CPython's private C encoder, built once by
  ``kopflow.audit.canonical._one_shot`` instead of once per ``JSONEncoder.encode`` call;
* ``object.__new__`` on the frozen dataclass ``CoopView`` (``CoopView._build``, used by
  ``kopflow.pipeline.change.build_view``), skipping its ``__init__``;
* the cyclic garbage collector paused around each write transaction
  (``kopflow.pipeline.change._gc_paused``);
* ``json.encoder.encode_basestring`` (undocumented), which writes the strings of audit bodies
  spliced from parts (``kopflow.audit.canonical.object_text``, ``ChainWriter._spliced``).

What each gains is measured by ``bench/internals.py``; here only what it must keep doing.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import json.encoder
from typing import Any

import pytest
from engine_helpers import finish, seeds

from kopflow.audit import canonical
from kopflow.engine import Kopflow
from kopflow.pipeline.change import Change, _gc_paused, build_view
from kopflow.pipeline.work import CoopWork, StepState
from kopflow.plugin import CoopView

SAMPLES: list[Any] = [
    {},
    [],
    {"b": 1, "a": [True, False, None], "c": {"z": "", "y": -(2**53 - 1)}},
    'Koperasi Désa ñ 中文 😀 \u2028 \x00\x1f\x7f " \\ /',
    [{"k": ("t", 2**53 - 1)}, [[[]]], "e\u0301"],
    {"amount": 150_000_000, "date": "2025-01-31", "units": ["toko", "simpan_pinjam"]},
]

# --- json.encoder.c_make_encoder -------------------------------------------------------------


def test_the_c_encoder_is_there() -> None:
    assert json.encoder.c_make_encoder is not None, (
        "CPython's private json.encoder.c_make_encoder is gone: kopflow.audit.canonical._one_shot "
        "now falls back to JSONEncoder.encode, about twice as slow per audit event. Re-measure "
        "with bench/internals.py and drop the shortcut if it no longer gains."
    )


def test_one_shot_builds_the_c_encoder_as_json_itself_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """_one_shot passes c_make_encoder exactly the arguments JSONEncoder.encode passes it for
    the canonical settings; a new parameter or order in the stdlib fails here."""
    calls: list[tuple[Any, ...]] = []
    real = json.encoder.c_make_encoder

    def recording(*args: Any) -> Any:
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(json.encoder, "c_make_encoder", recording)
    canonical._ENCODER.encode({"a": [1]})  # the stdlib builds its own
    monkeypatch.setattr(canonical, "c_make_encoder", recording)
    canonical._one_shot()  # kopflow builds its own
    assert len(calls) == 2, (
        "JSONEncoder.encode no longer calls c_make_encoder once per call: the stdlib's "
        f"encoder changed ({len(calls) - 1} calls); re-check kopflow.audit.canonical._one_shot"
    )
    assert calls[0] == calls[1], (
        "kopflow.audit.canonical._one_shot builds c_make_encoder with other arguments than "
        f"JSONEncoder.encode: stdlib {calls[0]!r}, kopflow {calls[1]!r}"
    )


@pytest.mark.parametrize("value", SAMPLES, ids=range(len(SAMPLES)))
def test_one_shot_encodes_as_json_encoder_encode(value: Any) -> None:
    expected = canonical._ENCODER.encode(value)
    assert canonical._one_shot()(value) == expected, (
        "the C encoder built once by _one_shot writes other text than JSONEncoder.encode"
    )
    assert canonical.canonical_bytes(value) == expected.encode("utf-8")
    assert expected == json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def test_one_shot_encoder_is_reusable() -> None:
    """Built once, called many times: no state may carry from one value to the next."""
    encode = canonical._one_shot()
    first = [encode(v) for v in SAMPLES]
    assert [encode(v) for v in SAMPLES] == first


STRINGS = [s for s in SAMPLES if isinstance(s, str)] + ["", "a\u2028b", "\ud7ff\ue000", "😀"]


@pytest.mark.parametrize("text", STRINGS, ids=range(len(STRINGS)))
def test_encode_basestring_writes_strings_as_the_encoder_does(text: str) -> None:
    """Spliced audit bodies (canonical.object_text, chain._spliced) encode strings with
    json.encoder.encode_basestring, a module attribute json does not document."""
    assert json.encoder.encode_basestring(text) == canonical._ENCODER.encode(text), (
        "json.encoder.encode_basestring no longer writes a string as the canonical encoder "
        "does: spliced audit bodies would differ from canonical_bytes; encode with "
        "canonical.checked_text instead"
    )


# --- object.__new__ on the frozen CoopView -----------------------------------------------------


def _work(steps: dict[str, StepState] | None = None) -> CoopWork:
    row = {
        "id": "KDMP-1",
        "name": "Koperasi Desa Merah Putih Désa",
        "kabupaten": "Kab",
        "kecamatan": "Kec",
        "stage": "legal",
        "workflow": "kdkmp",
        "version": 4,
    }
    return CoopWork(row, steps or {}, {"pos", "bri"}, ["uji-1", "uji-2"])


def test_views_built_without_init_are_the_constructors_views() -> None:
    """build_view skips CoopView.__init__; field for field it is what the constructor builds
    (every field given: a field added to CoopView fails here until build_view gives it)."""
    steps = {
        "nib": StepState(2, "done", '{"nib":"1234567890123"}'),
        "x": StepState(1, "undone", "{}"),
    }
    view = build_view(_work(steps))
    fields = {f.name: getattr(view, f.name) for f in dataclasses.fields(CoopView)}
    built = CoopView(**{**fields, "evidence": dict(view.evidence)})
    assert type(view) is CoopView
    assert vars(view).keys() == vars(built).keys(), (
        "CoopView's fields changed: kopflow.pipeline.change.view_fields and CoopView._build "
        "must set exactly the fields its __init__ and __post_init__ set"
    )
    for name in vars(built):
        if name != "evidence":
            assert getattr(view, name) == getattr(built, name), name
            assert type(getattr(view, name)) is type(getattr(built, name)), name
    assert view == built and hash(view) == hash(built)
    assert type(view.evidence) is type(built.evidence)
    assert dict(view.evidence) == dict(built.evidence) == {"nib": {"nib": "1234567890123"}}


def test_views_built_without_init_are_frozen() -> None:
    view = build_view(_work())
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.stage = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        view.evidence["nib"] = {}  # type: ignore[index]


# --- the garbage collector paused per transaction ------------------------------------------


def test_gc_is_paused_inside_and_enabled_after() -> None:
    assert gc.isenabled()
    with _gc_paused():
        assert not gc.isenabled(), "the collector runs during a transaction"
    assert gc.isenabled(), "the collector stayed off after a transaction"


def test_gc_is_enabled_again_after_an_error() -> None:
    with pytest.raises(RuntimeError), _gc_paused():
        raise RuntimeError("refused")
    assert gc.isenabled(), "the collector stayed off after a transaction that failed"


def test_gc_left_off_by_the_caller_stays_off() -> None:
    gc.disable()
    try:
        with _gc_paused():
            pass
        assert not gc.isenabled(), "a transaction switched on a collector its caller had off"
    finally:
        gc.enable()


def test_gc_is_enabled_after_real_transactions(kopflow: Kopflow) -> None:
    """Through the engine: a committed change, a refused one and a failing one."""
    kopflow.register(seeds(2), source="test")
    finish(kopflow, "KDMP-900001", "formation")
    assert gc.isenabled()

    def failing(change: Change) -> None:
        assert not gc.isenabled()
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        kopflow._ws.write(failing)
    assert gc.isenabled(), "the collector stayed off after a failed transaction"
    result = kopflow.advance_bulk(stage="formation")
    assert [o.coop_id for o in result.done] == ["KDMP-900001"]
    assert [o.coop_id for o in result.refused] == ["KDMP-900002"]
    assert gc.isenabled(), "the collector stayed off after a bulk call"
