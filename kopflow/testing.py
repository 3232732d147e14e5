"""pytest fixtures for partner plugin authors: a real database, the engine and the CLI with your
plugin loaded, a cooperative at any stage, and a check of the audit trail.

Enable them in your ``conftest.py`` with ``pytest_plugins = ["kopflow.testing"]``; they are not
registered automatically (no ``pytest11`` entry point), so installing kopflow changes nobody's
test run. Everything runs on an SQLite file under the test's ``tmp_path``; nothing is mocked.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from click.testing import Result

    from kopflow.engine import Kopflow
    from kopflow.host.manager import LoadedPlugin, PluginHost

__all__ = [
    "ADMIN",
    "SAMPLE_KABUPATEN",
    "SAMPLE_PROVINCE",
    "KopflowRunner",
    "cli_runner",
    "coop_at_stage",
    "kopflow_app",
    "kopflow_db",
    "kopflow_lang",
    "kopflow_plugins",
    "register_plugin",
    "verify_audit",
]

#: The actor who initialised the test database; the fixtures act as this admin.
ADMIN = "tester"
#: The kabupaten ``coop_at_stage`` imports: the smallest in the areaid data (6 villages).
SAMPLE_KABUPATEN = "Kabupaten Adm. Kepulauan Seribu"
SAMPLE_PROVINCE = "Daerah Khusus Ibukota Jakarta"


# --- the database --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _kopflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One initialised database per test session; each test gets a copy (init takes ~1 s)."""
    from kopflow.engine import Kopflow
    from kopflow.host.manager import PluginHost
    from kopflow.store import db

    path = tmp_path_factory.mktemp("kopflow-template") / "kopflow.db"
    engine = Kopflow(str(path), actor=ADMIN, plugins=PluginHost())
    engine.init()
    # Closing the last connection checkpoints the WAL, so the file alone is the database
    # (dispose_engines closes the SQLite connections kept between transactions too).
    db.dispose_engines()
    return path


@pytest.fixture
def kopflow_db(tmp_path: Path, _kopflow_template: Path) -> str:
    """The path of an initialised SQLite database of this test; its admin is :data:`ADMIN`."""
    path = tmp_path / "kopflow.db"
    for suffix in ("", "-wal"):
        source = _kopflow_template.with_name(_kopflow_template.name + suffix)
        if source.exists():
            shutil.copyfile(source, path.with_name(path.name + suffix))
    return str(path)


@pytest.fixture
def kopflow_lang() -> Iterator[str]:
    """The language of kopflow's messages in the test (``"en"``); override it to test ``"id"``."""
    yield "en"


@pytest.fixture
def _kopflow_language(kopflow_lang: str) -> Iterator[None]:
    from kopflow import i18n

    before = i18n.get_language()
    i18n.set_language(kopflow_lang)
    yield
    i18n.set_language(before)


# --- plugins -------------------------------------------------------------------------------


@pytest.fixture
def kopflow_plugins() -> PluginHost:
    """The plugins of this test: the installed ones, as ``kopflow`` itself would load them.

    ``KOPFLOW_LOAD_PLUGINS`` and ``KOPFLOW_DISABLE_PLUGINS`` apply. Override this fixture to
    start from nothing: ``return make_plugin_host(load_entry_points=False)`` (remember that the
    workflow may require some partners, e.g. BRI, before a cooperative can start operating).
    """
    from kopflow.host.manager import make_plugin_host

    return make_plugin_host()


@pytest.fixture
def register_plugin(kopflow_plugins: PluginHost) -> Iterator[Callable[..., LoadedPlugin]]:
    """Load a plugin module (or object) into the test's plugins; it is removed after the test.

    ``register_plugin(module, name=None, check=True)`` returns the plugin's record. A plugin of
    the same name already loaded (your own, installed in development mode) is replaced, so the
    test runs exactly the object it registered. With ``check=True`` a plugin that fails to load
    raises its :class:`~kopflow.errors.PluginError`; pass ``check=False`` to test a broken one.
    """
    added: list[str] = []

    def register(plugin: object, *, name: str | None = None, check: bool = True) -> LoadedPlugin:
        default = name or getattr(plugin, "__name__", type(plugin).__name__).split(".")[-1]
        replaced = {_plugin_name(plugin, default)}
        if kopflow_plugins.manager.is_registered(plugin):
            replaced.add(str(kopflow_plugins.manager.get_name(plugin)))
        for old in replaced:
            kopflow_plugins.remove_plugin(old)
        loaded = kopflow_plugins.add_plugin(
            plugin, name=default, source="kopflow.testing register_plugin"
        )
        added.append(loaded.name)
        if check and loaded.status != "ok":
            mine = [e for e in kopflow_plugins.errors if e.plugin == loaded.name]
            raise mine[-1] if mine else AssertionError(f"{loaded.name}: {loaded.status}")
        return loaded

    yield register
    for name in reversed(added):
        kopflow_plugins.remove_plugin(name)


def _plugin_name(plugin: object, default: str) -> str:
    """The name a plugin gives itself in ``kopflow_plugin_info``, else ``default``."""
    info = getattr(plugin, "kopflow_plugin_info", None)
    try:
        return str(info().name) if callable(info) else default
    except Exception:  # noqa: BLE001 -- a broken plugin_info is reported when it is added
        return default


# --- the engine and the CLI ----------------------------------------------------------------


@pytest.fixture
def kopflow_app(kopflow_db: str, kopflow_plugins: PluginHost, _kopflow_language: None) -> Kopflow:
    """The engine on the test database, acting as :data:`ADMIN`, with the test's plugins.

    Plugins registered with ``register_plugin``, before or after, take part in every call.
    """
    from kopflow.engine import Kopflow

    return Kopflow(kopflow_db, actor=ADMIN, plugins=kopflow_plugins)


@dataclass
class KopflowRunner:
    """Runs ``kopflow`` commands in-process on the test database, with the test's plugins.

    Call it with the arguments after ``kopflow``; it checks the exit code (``expect``, ``None``
    for any) and returns click's ``Result`` (``stdout``, ``stderr``, ``exit_code``)::

        cli_runner("partner", "enroll", coop, "pertamina")
        refused = cli_runner("step", "complete", coop, "pertamina.verified", expect=3)

    With ``plugins=None`` (``dataclasses.replace(cli_runner, plugins=None)``) the command loads
    its plugins itself, as on a command line: entry points, ``--plugin``, ``--disable-plugin``,
    the environment and ``kopflow.toml``.
    """

    db: str
    plugins: PluginHost | None
    lang: str = "en"
    actor: str = ADMIN
    env: dict[str, str] = field(default_factory=dict)

    def __call__(self, *args: str, expect: int | None = 0, input: str | None = None) -> Result:
        from click.testing import CliRunner

        from kopflow.cli import cli

        env = {"KOPFLOW_DB": self.db, "KOPFLOW_ACTOR": self.actor, **self.env}
        result = CliRunner().invoke(
            cli, ["--lang", self.lang, *args], obj=self.plugins, env=env, input=input
        )
        if expect is not None and result.exit_code != expect:
            raise AssertionError(
                f"kopflow {' '.join(args)} exited with {result.exit_code}, not {expect}\n"
                f"--- stdout\n{result.stdout}--- stderr\n{result.stderr}"
                + (f"--- exception\n{result.exception!r}" if result.exception else "")
            )
        return result


@pytest.fixture
def cli_runner(
    kopflow_db: str,
    kopflow_plugins: PluginHost,
    kopflow_lang: str,
    _kopflow_language: None,
    tmp_path: Path,
) -> Iterator[KopflowRunner]:
    """A :class:`KopflowRunner`: the ``kopflow`` CLI with the test's plugins and database.

    Operational logs go to ``tmp_path/kopflow.log``; logging is reset after the test.
    """
    import structlog

    from kopflow import log

    env = {"KOPFLOW_LOG": str(tmp_path / "kopflow.log")}
    yield KopflowRunner(kopflow_db, kopflow_plugins, lang=kopflow_lang, env=env)
    log.reset()
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


# --- cooperatives and the audit trail ------------------------------------------------------


@pytest.fixture
def coop_at_stage(kopflow_app: Kopflow) -> Callable[..., str]:
    """Drive a fresh cooperative to a stage with sample evidence; returns its id.

    ``coop_at_stage(stage, partners=(), complete_partners=())`` imports
    :data:`SAMPLE_KABUPATEN` on first use, takes one of its cooperatives that no earlier call
    took (six at most per test), completes the required steps of every stage before ``stage``
    with evidence from :func:`kopflow.flow.samples.sample_evidence`, and advances it. On reaching
    the onboarding stage it is enrolled with the partners the workflow requires of every
    cooperative (BRI) and with ``partners``. The required steps of ``complete_partners`` are
    completed there, and those of every enrolled partner when ``stage`` lies beyond it.
    """
    taken: set[str] = set()

    def drive(
        stage: str, *, partners: Sequence[str] = (), complete_partners: Sequence[str] = ()
    ) -> str:
        if not taken:  # the first call imports the kabupaten (later imports would add nothing)
            from kopflow import regions

            seeds = regions.seeds_from_areaid(kabupaten=SAMPLE_KABUPATEN, provinsi=SAMPLE_PROVINCE)
            kopflow_app.register(seeds, source="kopflow.testing")
        return _drive(kopflow_app, stage, partners, complete_partners, taken)

    return drive


def _drive(
    engine: Kopflow,
    stage: str,
    partners: Sequence[str],
    complete_partners: Sequence[str],
    taken: set[str],
) -> str:
    from kopflow.flow.samples import sample_evidence

    wf = engine.workflow
    main = [s.id for s in wf.main_stages()]
    if wf.stage(stage).id not in main:  # wf.stage names the known stages if unknown
        raise ValueError(f"coop_at_stage drives along the main stages {main}, not to {stage}")
    rows = engine.list_coops(stage=wf.initial, kabupaten=SAMPLE_KABUPATEN)
    free: list[str] = [r["id"] for r in rows if r["id"] not in taken]
    if not free:
        raise RuntimeError(f"coop_at_stage: no cooperative of {SAMPLE_KABUPATEN} is left")
    coop = free[0]
    taken.add(coop)
    enroll = list(dict.fromkeys([*wf.required_partners, *partners, *complete_partners]))
    for current in main[: main.index(stage) + 1]:
        todo = []
        if current == wf.onboarding_stage:
            if enroll:
                engine.enroll(coop, enroll)
            for code in enroll if current != stage else complete_partners:
                spec = engine.plugins.partner(code)
                todo += [(spec.key(s.id), s) for s in _in_order(spec.steps) if s.required]
        if current != stage:
            todo = [(s.id, s) for s in _in_order(wf.stage(current).steps) if s.required] + todo
        for key, step in todo:
            engine.complete_step(coop, key, sample_evidence(step, len(taken)))
        if current == stage:
            break
        engine.advance(coop)
    return coop


def _in_order(steps: Sequence[Any]) -> list[Any]:
    """Steps so that each comes after the steps it names in ``after`` (declared order kept)."""
    done: set[str] = set()
    ordered: list[Any] = []
    pending = list(steps)
    while pending:
        ready = [s for s in pending if set(s.after) <= done] or pending[:1]
        for step in ready:
            ordered.append(step)
            done.add(step.id)
            pending.remove(step)
    return ordered


@pytest.fixture
def verify_audit(kopflow_db: str) -> Callable[[], list[dict[str, Any]]]:
    """``verify_audit()`` checks the test database's audit chain and returns its events.

    Raises ``AssertionError`` naming the first broken event; otherwise returns every event's
    body (``seq``, ``actor``, ``action``, ``coop``, ``details``, ...) in order, so a test can
    look at what was recorded, such as ``details["plugins"]``, the plugins and versions that
    took part in a change.
    """

    def verify() -> list[dict[str, Any]]:
        from sqlalchemy import select

        from kopflow.audit import chain as audit
        from kopflow.store import db, tables

        table = tables.audit_event
        with audit.snapshot(db.resolve_url(kopflow_db)) as conn:
            result = audit.verify_database(conn)
            if not result.ok:
                raise AssertionError(
                    f"the audit chain does not verify at event {result.problem_seq}: "
                    f"{result.problem}"
                )
            rows = conn.execute(select(table.c.body).order_by(table.c.seq)).scalars()
            return [json.loads(body) for body in rows]

    return verify
