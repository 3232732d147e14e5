"""PostgreSQL enforces the rules kopflow enforces (issue #14, point 1).

- ``kopflow_chain_lock()`` and ``kopflow_chain_append(...)``: ``SECURITY DEFINER`` functions,
  owned by the owner, through which every writer takes the chain-head lock and appends audit
  events. The append checks on the server that each event continues the chain (sequence
  number, link, SHA-256 of the body, the body's fixed parts against the columns) and, for any
  login but the owner, that the events are in the login's own name (``session_user``) and
  kopflow role; then it moves the head once. ``db grant`` takes away every role's INSERT on
  ``audit_event`` and UPDATE on ``chain_head`` and grants EXECUTE on these two instead.
- Row-level security on the tables writers change: officers only inside their kabupaten,
  partners only their own steps on cooperatives enrolled with them, the actor columns equal to
  ``session_user``, ``WITH CHECK`` so a row cannot be moved out of scope. The owner of the
  tables and superusers are exempt (PostgreSQL's rule), so ``db migrate-to`` and the owner's
  repairs still work; docs/database.md says what that leaves open.

Everything here is PostgreSQL's; on SQLite the file's permissions are the boundary and this
revision changes nothing.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence
from typing import Any

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The audit body format this revision's append function checks; tests/test_pg_security.py
# fails when kopflow.audit.canonical.CANON_VERSION moves on without a migration that follows.
CANON_VERSION = "kopflow-audit-v1"

APPEND_ARGS = "integer[], text[], text[], text[], text[], text[], text[], text[], text[]"

# The acting login's kopflow actor, as the policies see it. Reading ``actor`` directly (every
# group role may SELECT it) keeps the policies free of helper functions; each sub-select is
# uncorrelated, so PostgreSQL runs it once per statement, not per row.
_ROLE = "(SELECT a.role FROM actor a WHERE a.name = session_user AND a.enabled)"
_REGION = (
    "(SELECT a.region FROM actor a "
    "WHERE a.name = session_user AND a.enabled AND a.role = 'officer')"
)
_PARTNER = (
    "(SELECT a.partner FROM actor a "
    "WHERE a.name = session_user AND a.enabled AND a.role = 'partner')"
)
_ADMIN = f"{_ROLE} = 'admin'"


def _in_region(coop_id: str) -> str:
    return f"EXISTS (SELECT 1 FROM coop c WHERE c.id = {coop_id} AND c.kabupaten = {_REGION})"


def _enrolled(coop_id: str) -> str:
    return (
        f"EXISTS (SELECT 1 FROM enrollment e WHERE e.coop_id = {coop_id} "
        f"AND e.partner = {_PARTNER})"
    )


def _own_step(step: str) -> str:
    # A partner's steps are stored as "<partner>.<step>"; left() because "_" in a partner code
    # would be a wildcard to LIKE.
    return f"left({step}, length({_PARTNER}) + 1) = {_PARTNER} || '.'"


# Per table: (INSERT ... WITH CHECK, UPDATE ... USING, UPDATE ... WITH CHECK); None: no policy
# for that command (no role is granted it, so nobody but the owner may). A row must be in scope
# before an update (USING) and after it (WITH CHECK); the actor column must be the login itself.


def _partner_step(table: str) -> str:
    return f"({_own_step(table + '.step')} AND {_enrolled(table + '.coop_id')})"


def _scope(table: str) -> str:
    # Column names qualified: inside the sub-selects an unqualified coop_id would be the
    # enrollment's own column.
    return f"({_ADMIN} OR {_in_region(table + '.coop_id')} OR {_partner_step(table)})"


def _officer_or_admin(table: str) -> str:
    return f"({_ADMIN} OR {_in_region(table + '.coop_id')})"


_COOP_SCOPE = f"({_ADMIN} OR coop.kabupaten = {_REGION} OR {_enrolled('coop.id')})"
POLICIES: dict[str, tuple[str | None, str | None, str | None]] = {
    # Partners may only move a cooperative's version (column grants): they need no INSERT.
    "coop": (
        f"coop.updated_by = session_user AND ({_ADMIN} OR coop.kabupaten = {_REGION})",
        _COOP_SCOPE,
        f"coop.updated_by = session_user AND {_COOP_SCOPE}",
    ),
    "coop_village": (_officer_or_admin("coop_village"), None, None),
    "enrollment": (
        f"enrollment.actor = session_user AND {_officer_or_admin('enrollment')}",
        None,
        None,
    ),
    "step_record": (f"step_record.actor = session_user AND {_scope('step_record')}", None, None),
    "transition": (
        f"transition.actor = session_user AND {_officer_or_admin('transition')}",
        None,
        None,
    ),
    "unique_value": (_scope("unique_value"), _scope("unique_value"), _scope("unique_value")),
    # Notifications (issue #13) are written with any change a writer may make (its scope is
    # the change's); only a partner's own rows, or an admin, may be marked delivered.
    "outbox": (
        "true",
        f"({_ADMIN} OR outbox.partner = {_PARTNER})",
        f"({_ADMIN} OR outbox.partner = {_PARTNER})",
    ),
    # Admins add and enable actors (column grants); an added actor names its real creator.
    "actor": ("actor.created_by = session_user", "true", "true"),
}


def _functions(schema: str) -> list[str]:
    # SET search_path: a SECURITY DEFINER function must not resolve names through the caller's
    # search_path, or a login could shadow chain_head with a table of its own.
    path = f"SET search_path = {schema}, pg_temp"
    lock = f"""
CREATE FUNCTION kopflow_chain_lock() RETURNS TABLE (seq integer, hash text)
LANGUAGE sql SECURITY DEFINER {path} AS $$
    SELECT h.seq, h.hash::text FROM chain_head h WHERE h.id = 1 FOR UPDATE
$$"""
    append = f"""
CREATE FUNCTION kopflow_chain_append(
    p_seq integer[], p_at text[], p_actor text[], p_role text[], p_action text[],
    p_coop text[], p_body text[], p_prev text[], p_hash text[]
) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER {path} AS $$
DECLARE
    head_seq integer;
    head_hash text;
    n integer := coalesce(cardinality(p_seq), 0);
    login_role text;
    bad bigint;
BEGIN
    SELECT h.seq, h.hash INTO head_seq, head_hash FROM chain_head h WHERE h.id = 1 FOR UPDATE;
    IF n = 0 THEN
        RETURN head_seq;
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(ARRAY[cardinality(p_at), cardinality(p_actor),
            cardinality(p_role), cardinality(p_action), cardinality(p_coop),
            cardinality(p_body), cardinality(p_prev), cardinality(p_hash)]) AS c(len)
               WHERE c.len IS DISTINCT FROM n) THEN
        RAISE EXCEPTION 'kopflow_chain_append: the arrays differ in length'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- The owner (and a superuser) may record in any name: db migrate-to copies other actors'
    -- events, and nothing binds them anyway. Everyone else appends as themselves only.
    IF NOT (
        EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = session_user AND r.rolsuper)
        OR pg_has_role(session_user,
            (SELECT c.relowner FROM pg_class c WHERE c.oid = 'audit_event'::regclass), 'MEMBER')
    ) THEN
        SELECT a.role INTO login_role FROM actor a WHERE a.name = session_user AND a.enabled;
        IF login_role IS NULL OR login_role NOT IN ('officer', 'partner', 'admin') THEN
            RAISE EXCEPTION 'login % is not an enabled kopflow writer', session_user
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF EXISTS (SELECT 1 FROM unnest(p_actor, p_role) AS u(actor, role)
                   WHERE u.actor IS DISTINCT FROM session_user::text
                      OR u.role IS DISTINCT FROM login_role) THEN
            RAISE EXCEPTION 'login % may record audit events only as itself (role %)',
                session_user, login_role USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    -- Exactly what `audit verify` checks: the next sequence numbers, each linked to the one
    -- before, the hash of the stored body, and the body's parts around "details" made from
    -- the columns (kopflow.audit.chain.verify_events).
    -- lag(), not p_hash[i - 1]: subscripting an array of text walks it from the start, which
    -- made a batch of n events cost n squared.
    SELECT min(u.i) INTO bad
    FROM (
        SELECT v.*, coalesce(lag(v.hash) OVER (ORDER BY v.i), head_hash) AS before
        FROM unnest(p_seq, p_at, p_actor, p_role, p_action, p_coop, p_body, p_prev, p_hash)
            WITH ORDINALITY AS v(seq, at, actor, role, action, coop, body, prev, hash, i)
    ) AS u
    CROSS JOIN LATERAL (SELECT
        '{{"action":' || to_json(u.action)::text || ',"actor":' || to_json(u.actor)::text
            || ',"at":' || to_json(u.at)::text || ',"coop":'
            || coalesce(to_json(u.coop)::text, 'null') || ',"details":{{' AS head,
        ',"prev":"' || u.prev || '","role":' || to_json(u.role)::text || ',"seq":' || u.seq
            || ',"v":"{CANON_VERSION}"}}' AS tail
    ) AS x
    WHERE u.seq IS DISTINCT FROM head_seq + u.i
       OR u.prev IS DISTINCT FROM u.before
       OR u.hash IS DISTINCT FROM encode(sha256(convert_to(u.body, 'UTF8')), 'hex')
       OR starts_with(u.body, x.head) IS NOT TRUE
       OR right(u.body, length(x.tail)) IS DISTINCT FROM x.tail;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'audit event % does not continue the chain at event %',
            p_seq[bad], head_seq USING ERRCODE = 'check_violation';
    END IF;
    -- A body is JSON (verify --strict parses it); the cast refuses any that is not.
    PERFORM u.body::jsonb FROM unnest(p_body) AS u(body);
    INSERT INTO audit_event (seq, at, actor, role, action, coop_id, body, prev_hash, hash)
    SELECT * FROM unnest(p_seq, p_at, p_actor, p_role, p_action, p_coop, p_body, p_prev,
                         p_hash);
    UPDATE chain_head SET seq = head_seq + n, hash = p_hash[n] WHERE id = 1;
    RETURN head_seq + n;
END
$$"""
    return [
        lock,
        append,
        "REVOKE ALL ON FUNCTION kopflow_chain_lock() FROM PUBLIC",
        f"REVOKE ALL ON FUNCTION kopflow_chain_append({APPEND_ARGS}) FROM PUBLIC",
    ]


def _policies() -> list[str]:
    statements = []
    for table, (insert, using, check) in POLICIES.items():
        statements += [
            f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            f"CREATE POLICY kopflow_read ON {table} FOR SELECT USING (true)",
        ]
        if insert is not None:
            statements.append(
                f"CREATE POLICY kopflow_insert ON {table} FOR INSERT WITH CHECK ({insert})"
            )
        if using is not None:
            statements.append(
                f"CREATE POLICY kopflow_update ON {table} FOR UPDATE "
                f"USING ({using}) WITH CHECK ({check})"
            )
    return statements


def upgrade() -> None:
    """Upgrade schema."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    schema = bind.exec_driver_sql("SELECT current_schema()").scalar_one()
    quoted = bind.dialect.identifier_preparer.quote(schema)
    for statement in [*_functions(quoted), *_policies(), *_old_grants(bind)]:
        op.execute(statement)


def _old_grants(bind: Any) -> list[str]:
    """Take back what an earlier ``db grant`` gave on the chain tables (INSERT on events,
    UPDATE (seq, hash) on the head), so the upgrade alone closes the hole; ``db grant`` then
    grants EXECUTE on the functions instead."""
    grantees = bind.exec_driver_sql(
        "SELECT grantee FROM information_schema.role_table_grants "
        "WHERE table_schema = current_schema() AND table_name IN ('audit_event', 'chain_head') "
        "AND privilege_type IN ('INSERT', 'UPDATE') AND grantee <> current_user "
        "UNION SELECT grantee FROM information_schema.role_column_grants "
        "WHERE table_schema = current_schema() AND table_name IN ('audit_event', 'chain_head') "
        "AND privilege_type IN ('INSERT', 'UPDATE') AND grantee <> current_user"
    ).scalars()
    quote = bind.dialect.identifier_preparer.quote
    statements = []
    for grantee in sorted(grantees):
        who = "PUBLIC" if grantee == "PUBLIC" else quote(grantee)
        statements += [
            f"REVOKE INSERT, UPDATE ON audit_event FROM {who}",
            f"REVOKE INSERT, UPDATE ON chain_head FROM {who}",
            f"REVOKE UPDATE (seq, hash) ON chain_head FROM {who}",
        ]
    return statements


def downgrade() -> None:
    """Downgrade schema."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in POLICIES:
        for name in ("kopflow_read", "kopflow_insert", "kopflow_update"):
            op.execute(f"DROP POLICY IF EXISTS {name} ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute(f"DROP FUNCTION kopflow_chain_append({APPEND_ARGS})")
    op.execute("DROP FUNCTION kopflow_chain_lock()")
