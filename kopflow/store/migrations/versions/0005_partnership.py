"""Partnership forums (issue #16): the partner directory and its caps, forums with their
partners and attendance, and leads with their versioned states.

On PostgreSQL, row-level security on the seven tables, in the style of revision 0004 (issue #14,
point 1): rows are only ever added (``db grant`` gives INSERT and nothing else), so each table
has an INSERT policy whose ``WITH CHECK`` mirrors kopflow's own rules
(``authz.require_region``, ``authz.require_lead``): an officer adds forums, their partners and
attendance, caps and leads of its own kabupaten only; a partner's staff only leads and lead
records of their own partner; the actor column is always ``session_user``. Everyone reads.
The owner and superusers are exempt, as in 0004.

Also 0004's ``outbox`` INSERT policy, which let any writer add any row, is narrowed (the
policy, and a deferred trigger binding each row to an event of the login's own change), and a
database ``db grant`` has already run on gets the new tables' grants at once.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from kopflow.store.sqltypes import UTCDateTime

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _stamp() -> list[sa.Column[Any]]:
    """Who recorded a row, when, and the audit event that did."""
    return [
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("audit_seq", sa.Integer(), nullable=False),
    ]


# The acting login's kopflow actor, as the policies see it (the same sub-selects as 0004's:
# uncorrelated, so PostgreSQL runs each once per statement).
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


def _coop_in_region(coop_id: str) -> str:
    return f"EXISTS (SELECT 1 FROM coop c WHERE c.id = {coop_id} AND c.kabupaten = {_REGION})"


def _forum_in_region(forum_id: str) -> str:
    return f"EXISTS (SELECT 1 FROM forum f WHERE f.id = {forum_id} AND f.kabupaten = {_REGION})"


def _own_lead(coop_id: str, partner: str) -> str:
    # require_lead: an officer of the cooperative's kabupaten, or the lead's own partner's staff
    # (on any cooperative: a lead comes before any enrolment).
    return f"({_coop_in_region(coop_id)} OR {partner} = {_PARTNER})"


# Per table, the INSERT policy's WITH CHECK; column names qualified, since inside the
# sub-selects an unqualified name would be the inner table's.
POLICIES: dict[str, str] = {
    # The directory is the Dinas': any officer or admin adds a partner (kopflow's rule too).
    "partner_org": f"{_ROLE} IN ('officer', 'admin')",
    # A district's cap is its officer's; a cap for no kabupaten ("") is a partner's declared
    # one and comes only with the directory entry it belongs to (same login, same event).
    "partner_cap": (
        f"{_ADMIN} OR partner_cap.kabupaten = {_REGION} OR (partner_cap.kabupaten = '' "
        f"AND {_ROLE} = 'officer' AND EXISTS (SELECT 1 FROM partner_org p "
        "WHERE p.code = partner_cap.partner AND p.audit_seq = partner_cap.audit_seq "
        "AND p.actor = session_user))"
    ),
    "forum": f"{_ADMIN} OR forum.kabupaten = {_REGION}",
    "forum_partner": f"{_ADMIN} OR {_forum_in_region('forum_partner.forum_id')}",
    # Both the cooperative and the forum in the officer's kabupaten (kopflow refuses a
    # cooperative of another kabupaten at a district's forum too).
    "forum_attendance": (
        f"{_ADMIN} OR ({_coop_in_region('forum_attendance.coop_id')} "
        f"AND {_forum_in_region('forum_attendance.forum_id')})"
    ),
    "lead": f"{_ADMIN} OR {_own_lead('lead.coop_id', 'lead.partner')}",
    "lead_record": (
        f"{_ADMIN} OR EXISTS (SELECT 1 FROM lead l WHERE l.id = lead_record.lead_id "
        f"AND {_own_lead('l.coop_id', 'l.partner')})"
    ),
}


# Revision 0004 let any writer add any outbox row (its policy was ``true``): a login could queue
# notifications to any partner, about any cooperative, already marked delivered. A notification
# is written with the change it is about (Change.notify: a transition, an enrolment, a step,
# and a partner's step may notify another partner enrolled with the same cooperative), so:
# - the policy: a new row is pending, about a cooperative the login may change (an officer's
#   kabupaten; for a partner's staff one enrolled with their partner; an admin any);
# - a deferred constraint trigger, checked at commit when the change's audit events are in:
#   the row's event was appended in this very transaction, by this login, with the row's
#   action and cooperative. A row for another partner outside one's own change is refused.
OUTBOX_INSERT = (
    "outbox.status = 'pending' AND outbox.attempts = 0 AND outbox.delivered_at IS NULL "
    f"AND ({_ADMIN} OR {_coop_in_region('outbox.coop_id')} OR EXISTS (SELECT 1 FROM "
    f"enrollment e WHERE e.coop_id = outbox.coop_id AND e.partner = {_PARTNER}))"
)


def _outbox_trigger(schema: str) -> list[str]:
    # SET search_path, as 0004's functions: the trigger must not resolve audit_event through a
    # search_path the login chose. xmin: the event row was written by this transaction (kopflow
    # writes without savepoints, so its xmin is the top-level transaction's id).
    function = f"""
CREATE FUNCTION kopflow_outbox_in_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = {schema}, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = session_user AND r.rolsuper)
       OR pg_has_role(session_user,
           (SELECT c.relowner FROM pg_class c WHERE c.oid = 'outbox'::regclass), 'MEMBER') THEN
        RETURN NULL;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM audit_event ae
                   WHERE ae.seq = NEW.audit_seq AND ae.actor = session_user::text
                     AND ae.action = NEW.action AND ae.coop_id IS NOT DISTINCT FROM NEW.coop_id
                     AND ae.xmin::text = (txid_current() % 4294967296)::text) THEN
        RAISE EXCEPTION 'outbox row for % (event %) is not part of a change % made',
            NEW.partner, NEW.audit_seq, session_user USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END
$$"""
    return [
        function,
        "CREATE CONSTRAINT TRIGGER kopflow_outbox_in_change AFTER INSERT ON outbox "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION kopflow_outbox_in_change()",
    ]


def _policies() -> list[str]:
    statements = []
    for table, check in POLICIES.items():
        statements += [
            f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            f"CREATE POLICY kopflow_read ON {table} FOR SELECT USING (true)",
            # Every table here has an actor column: the login itself, never another name.
            f"CREATE POLICY kopflow_insert ON {table} FOR INSERT "
            f"WITH CHECK ({table}.actor = session_user AND ({check}))",
        ]
    # No UPDATE or DELETE policy: no role is granted either, and with row-level security on,
    # a missing policy refuses even a future grant.
    return [*statements, f"ALTER POLICY kopflow_insert ON outbox WITH CHECK ({OUTBOX_INSERT})"]


# What ``db grant`` gives on these tables (kopflow.rules.roles.WRITES as of this revision, kept
# here so the migration does not change when the rules move on).
GRANTS: dict[str, tuple[str, ...]] = {
    "partner_org": ("officer", "admin"),
    "partner_cap": ("officer", "admin"),
    "forum": ("officer", "admin"),
    "forum_partner": ("officer", "admin"),
    "forum_attendance": ("officer", "admin"),
    "lead": ("officer", "partner", "admin"),
    "lead_record": ("officer", "partner", "admin"),
}
READERS = ("officer", "partner", "auditor", "admin")


def _grants(bind: Any, schema: str) -> list[str]:
    """On a database ``db grant`` has already run on, the grants it would give on the new
    tables, so every login keeps working after ``db upgrade`` without a second ``db grant``
    (which remains harmless: it finds these grants in place)."""
    # kopflow.rules.roles.group_role's names, frozen like GRANTS.
    prefix = "kopflow_" if schema == "public" else f"kopflow_{schema}_"
    groups = {role: prefix + role for role in READERS}
    present = set(
        bind.exec_driver_sql(
            "SELECT rolname FROM pg_roles WHERE rolname = ANY(%(names)s)",
            {"names": list(groups.values())},
        ).scalars()
    )
    if set(groups.values()) - present:
        return []  # never granted: `db grant` will do it all
    statements = []
    for table, writers in GRANTS.items():
        statements.append(f"GRANT SELECT ON TABLE {table} TO {', '.join(groups.values())}")
        statements.append(
            f"GRANT INSERT ON TABLE {table} TO {', '.join(groups[w] for w in writers)}"
        )
    everyone_writing = ", ".join(groups[w] for w in ("officer", "partner", "admin"))
    statements.append(
        f"GRANT USAGE ON SEQUENCE partner_cap_id_seq, lead_record_id_seq TO {everyone_writing}"
    )
    return statements


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "partner_org",
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("office", sa.String(), nullable=True),
        sa.Column("contact", sa.String(), nullable=True),
        sa.Column("offers", sa.Text(), nullable=False),
        *_stamp(),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "partner_cap",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner", sa.String(40), nullable=False),
        sa.Column("commodity", sa.String(40), nullable=False),
        sa.Column("kabupaten", sa.String(), nullable=False),
        sa.Column("cap", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(), nullable=False),
        *_stamp(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_partner_cap_lookup", "partner_cap", ["partner", "commodity", "kabupaten"])
    op.create_table(
        "forum",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("starts", sa.String(10), nullable=False),
        sa.Column("ends", sa.String(10), nullable=False),
        sa.Column("place", sa.String(), nullable=True),
        sa.Column("office", sa.String(), nullable=True),
        sa.Column("kabupaten", sa.String(), nullable=False),
        *_stamp(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_forum_kabupaten", "forum", ["kabupaten"])
    op.create_table(
        "forum_partner",
        sa.Column("forum_id", sa.String(40), nullable=False),
        sa.Column("partner", sa.String(40), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        *_stamp(),
        sa.ForeignKeyConstraint(["forum_id"], ["forum.id"]),
        sa.PrimaryKeyConstraint("forum_id", "partner", "status"),
    )
    op.create_table(
        "forum_attendance",
        sa.Column("forum_id", sa.String(40), nullable=False),
        sa.Column("coop_id", sa.String(32), nullable=False),
        sa.Column("rep_name", sa.String(), nullable=True),
        sa.Column("rep_role", sa.String(16), nullable=True),
        *_stamp(),
        sa.ForeignKeyConstraint(["forum_id"], ["forum.id"]),
        sa.ForeignKeyConstraint(["coop_id"], ["coop.id"]),
        sa.PrimaryKeyConstraint("forum_id", "coop_id"),
    )
    op.create_index("ix_forum_attendance_coop_id", "forum_attendance", ["coop_id"])
    op.create_table(
        "lead",
        sa.Column("id", sa.String(24), nullable=False),
        sa.Column("coop_id", sa.String(32), nullable=False),
        sa.Column("partner", sa.String(40), nullable=False),
        sa.Column("commodity", sa.String(40), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("forum_id", sa.String(40), nullable=True),
        *_stamp(),
        sa.ForeignKeyConstraint(["coop_id"], ["coop.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_lead_coop_id", "lead", ["coop_id"])
    op.create_index("ix_lead_forum_id", "lead", ["forum_id"])
    op.create_index("ix_lead_partner", "lead", ["partner", "coop_id"])
    op.create_table(
        "lead_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.String(24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("on_date", sa.String(10), nullable=True),
        *_stamp(),
        sa.ForeignKeyConstraint(["lead_id"], ["lead.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("lead_id", "version", name="uq_lead_version"),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        schema = bind.exec_driver_sql("SELECT current_schema()").scalar_one()
        quoted = bind.dialect.identifier_preparer.quote(schema)
        for statement in [*_policies(), *_outbox_trigger(quoted), *_grants(bind, schema)]:
            op.execute(statement)


def downgrade() -> None:
    """Downgrade schema."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER kopflow_outbox_in_change ON outbox")
        op.execute("DROP FUNCTION kopflow_outbox_in_change()")
        op.execute("ALTER POLICY kopflow_insert ON outbox WITH CHECK (true)")
    op.drop_table("lead_record")
    op.drop_index("ix_lead_partner", table_name="lead")
    op.drop_index("ix_lead_forum_id", table_name="lead")
    op.drop_index("ix_lead_coop_id", table_name="lead")
    op.drop_table("lead")
    op.drop_index("ix_forum_attendance_coop_id", table_name="forum_attendance")
    op.drop_table("forum_attendance")
    op.drop_table("forum_partner")
    op.drop_index("ix_forum_kabupaten", table_name="forum")
    op.drop_table("forum")
    op.drop_index("ix_partner_cap_lookup", table_name="partner_cap")
    op.drop_table("partner_cap")
    op.drop_table("partner_org")
