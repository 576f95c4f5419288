"""Accounts: members get passwords, a disabled flag and a creator scope; agency security policies, login throttles,
web sessions, TOTP enrolments (seed encrypted), recovery codes, invitations, API tokens, OAuth attempts (PKCE verifier
encrypted) and the audit log. Members of the old role "member" become "viewer" (least privilege).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 19:40:31.992870
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import onyx_adapters.sql.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.Identity(always=False), nullable=False
        ),
        sa.Column("at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("target", sa.Text(), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_agency_id_id"), ["agency_id", "id"], unique=False)

    op.create_table(
        "login_throttles",
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("locked_until", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttles")),
    )
    op.create_table(
        "agency_policies",
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("require_two_factor", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_agency_policies_agency_id_agencies")),
        sa.PrimaryKeyConstraint("agency_id", name=op.f("pk_agency_policies")),
    )
    op.create_table(
        "oauth_attempts",
        sa.Column("state_digest", sa.String(length=64), nullable=False),
        sa.Column("session_digest", sa.String(length=64), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=True),
        sa.Column("code_verifier", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("invite_id", sa.String(length=64), nullable=True),
        sa.Column("reconnect_connection_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_oauth_attempts_agency_id_agencies")),
        sa.PrimaryKeyConstraint("state_digest", name=op.f("pk_oauth_attempts")),
    )
    with op.batch_alter_table("oauth_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oauth_attempts_created_at"), ["created_at"], unique=False)

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("scopes", sa.String(length=200), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_api_tokens_agency_id_agencies")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_api_tokens_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_api_tokens_token_digest")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_tokens_member_id_created_at"), ["member_id", "created_at"], unique=False
        )

    op.create_table(
        "invites",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.Column("creator_scope", sa.Text(), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("used_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_invites_agency_id_agencies")),
        sa.ForeignKeyConstraint(["created_by"], ["members.id"], name=op.f("fk_invites_created_by_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invites")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_invites_token_digest")),
    )
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invites_agency_id_created_at"), ["agency_id", "created_at"], unique=False)

    op.create_table(
        "member_creators",
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("creator_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_creators_member_id_members"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("member_id", "creator_id", name=op.f("pk_member_creators")),
    )
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.Text(), nullable=False),
        sa.Column("used_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_recovery_codes_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
    )
    with op.batch_alter_table("recovery_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recovery_codes_member_id"), ["member_id"], unique=False)

    op.create_table(
        "totp_enrolments",
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("activated_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_totp_enrolments_member_id_members")),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_totp_enrolments")),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id_digest", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("created_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("authenticated_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_web_sessions_agency_id_agencies")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_web_sessions_member_id_members")),
        sa.PrimaryKeyConstraint("id_digest", name=op.f("pk_web_sessions")),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_sessions_member_id"), ["member_id"], unique=False)

    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password_hash", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("disabled", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("scoped", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index(batch_op.f("ix_members_agency_id_created_at"), ["agency_id", "created_at"], unique=False)
    op.execute("UPDATE members SET role = 'viewer' WHERE role = 'member'")


def downgrade() -> None:
    op.execute("UPDATE members SET role = 'admin' WHERE role = 'owner'")
    op.execute("UPDATE members SET role = 'member' WHERE role IN ('manager', 'viewer')")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_members_agency_id_created_at"))
        batch_op.drop_column("scoped")
        batch_op.drop_column("disabled")
        batch_op.drop_column("password_hash")

    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_sessions_member_id"))

    op.drop_table("web_sessions")
    op.drop_table("totp_enrolments")
    with op.batch_alter_table("recovery_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recovery_codes_member_id"))

    op.drop_table("recovery_codes")
    op.drop_table("member_creators")
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invites_agency_id_created_at"))

    op.drop_table("invites")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_member_id_created_at"))

    op.drop_table("api_tokens")
    with op.batch_alter_table("oauth_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_attempts_created_at"))

    op.drop_table("oauth_attempts")
    op.drop_table("agency_policies")
    op.drop_table("login_throttles")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_agency_id_id"))

    op.drop_table("audit_log")
