"""The tables (SQLAlchemy Core). Alembic migrations create them; ``tests/adapters`` check the two agree.

Keys are the domain's natural keys, so every write can be an idempotent upsert. Each index names the query that
uses it (``docs/storage.md`` lists them with their EXPLAIN checks).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    false,
)

from onyx_adapters.sql.types import UtcDateTime

__all__ = [
    "agencies",
    "agency_policies",
    "api_tokens",
    "audit_log",
    "chatter_days",
    "connections",
    "creator_stats",
    "creators",
    "invites",
    "ledger_entries",
    "login_throttles",
    "member_creators",
    "members",
    "metadata",
    "oauth_attempts",
    "ops_leases",
    "recovery_codes",
    "refresh_runs",
    "stats_events",
    "subscriber_days",
    "sync_cursors",
    "top_spenders",
    "totp_enrolments",
    "tracking_link_costs",
    "tracking_links",
    "web_sessions",
    "webhook_payments",
    "webhook_secrets",
]

# Stable constraint names, so migrations can refer to them on every engine.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

ID = String(64)
UUID_TEXT = String(64)

agencies = Table(
    "agencies",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("fanvue_user_uuid", UUID_TEXT, nullable=True),
    # Agency.timezone: an IANA name, checked by the core before it is written
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    # bumped by every write of the agency-wide data the dashboard reads (chatter days): the response cache's stamp
    Column("data_version", BigInteger, nullable=False, server_default="0"),
)

members = Table(
    "members",
    metadata,
    # the people who sign in to an agency's Onyx (the web service adds passwords and 2FA to this)
    Column("id", ID, primary_key=True),
    Column("agency_id", ID, ForeignKey("agencies.id"), nullable=False),
    Column("email", String(320), nullable=False, unique=True),  # unique: one login per address
    Column("display_name", String(200), nullable=False),
    Column("role", String(16), nullable=False),  # onyx_core.accounts.model.Role: owner | admin | manager | viewer
    Column("created_at", UtcDateTime(), nullable=False),
    Column("password_hash", Text, nullable=True),  # argon2id; never a password in clear
    Column("disabled", Boolean, nullable=False, server_default=false()),
    # creator scope: false = sees every creator (scope None); true = only the member_creators rows (maybe none)
    Column("scoped", Boolean, nullable=False, server_default=false()),
    # MemberRepository.for_agency: the agency's members, oldest first
    Index(None, "agency_id", "created_at"),
)

member_creators = Table(
    "member_creators",
    metadata,
    # the creators a scoped member (members.scoped) may see; no foreign key to creators: a scope names ids
    Column("member_id", ID, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("creator_id", ID, primary_key=True),
)

agency_policies = Table(
    "agency_policies",
    metadata,
    Column("agency_id", ID, ForeignKey("agencies.id"), primary_key=True),
    Column("require_two_factor", Boolean, nullable=False),
)

login_throttles = Table(
    "login_throttles",
    metadata,
    Column("key", String(400), primary_key=True),  # the normalized email (known or not)
    Column("failures", Integer, nullable=False),
    Column("window_start", UtcDateTime(), nullable=False),
    Column("locked_until", UtcDateTime(), nullable=True),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id_digest", String(64), primary_key=True),  # SHA-256 of the cookie's value, never the value
    Column("member_id", ID, ForeignKey("members.id"), nullable=False),
    Column("agency_id", ID, ForeignKey("agencies.id"), nullable=False),
    Column("stage", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_seen_at", UtcDateTime(), nullable=False),
    Column("authenticated_at", UtcDateTime(), nullable=False),
    # SessionRepository.delete_for_member
    Index(None, "member_id"),
)

totp_enrolments = Table(
    "totp_enrolments",
    metadata,
    Column("member_id", ID, ForeignKey("members.id"), primary_key=True),
    Column("secret", LargeBinary, nullable=False),  # the base32 seed encrypted with the Cipher: never in clear
    Column("active", Boolean, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("activated_at", UtcDateTime(), nullable=True),
    Column("last_step", BigInteger, nullable=True),  # the replay guard (TotpRepository.claim_step)
    Column("failures", Integer, nullable=False),
    Column("locked_until", UtcDateTime(), nullable=True),
    Column("consecutive_failures", Integer, nullable=False),
)

recovery_codes = Table(
    "recovery_codes",
    metadata,
    Column("id", ID, primary_key=True),
    Column("member_id", ID, ForeignKey("members.id"), nullable=False),
    Column("code_hash", Text, nullable=False),  # argon2id
    Column("used_at", UtcDateTime(), nullable=True),
    # RecoveryCodeRepository.unused / replace
    Index(None, "member_id"),
)

invites = Table(
    "invites",
    metadata,
    Column("id", ID, primary_key=True),
    Column("agency_id", ID, ForeignKey("agencies.id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("token_digest", String(64), nullable=False, unique=True),  # InviteRepository.by_token_digest
    Column("created_by", ID, ForeignKey("members.id"), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("role", String(16), nullable=True),
    Column("creator_scope", Text, nullable=True),  # JSON list of creator ids; NULL = every creator
    Column("email", String(320), nullable=True),
    Column("used_at", UtcDateTime(), nullable=True),
    Column("revoked_at", UtcDateTime(), nullable=True),
    # InviteRepository.for_agency
    Index(None, "agency_id", "created_at"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", ID, primary_key=True),
    Column("member_id", ID, ForeignKey("members.id"), nullable=False),
    Column("agency_id", ID, ForeignKey("agencies.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("scopes", String(200), nullable=False),  # space-separated, sorted
    Column("token_digest", String(64), nullable=False, unique=True),  # ApiTokenRepository.by_digest
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=True),
    Column("last_used_at", UtcDateTime(), nullable=True),
    Column("revoked_at", UtcDateTime(), nullable=True),
    # ApiTokenRepository.for_member
    Index(None, "member_id", "created_at"),
)

oauth_attempts = Table(
    "oauth_attempts",
    metadata,
    Column("state_digest", String(64), primary_key=True),
    Column("session_digest", String(64), nullable=False),
    Column("agency_id", ID, ForeignKey("agencies.id"), nullable=False),
    Column("member_id", ID, nullable=True),
    Column("code_verifier", LargeBinary, nullable=False),  # PKCE verifier encrypted with the Cipher
    Column("created_at", UtcDateTime(), nullable=False),
    Column("invite_id", ID, nullable=True),
    Column("reconnect_connection_id", ID, nullable=True),
    # OAuthAttemptRepository.purge_before
    Index(None, "created_at"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), Identity(), primary_key=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("action", String(64), nullable=False),
    Column("agency_id", ID, nullable=True),
    Column("actor", ID, nullable=True),
    Column("target", Text, nullable=True),
    Column("details", Text, nullable=False),  # JSON object of short strings (never a secret)
    Column("ip", String(64), nullable=True),
    # AuditLog.for_agency: newest first, paged by id
    Index(None, "agency_id", "id"),
)

refresh_runs = Table(
    "refresh_runs",
    metadata,
    Column("id", ID, primary_key=True),
    Column("agency_id", ID, ForeignKey("agencies.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("trigger", String(16), nullable=False),
    Column("creator_id", ID, nullable=True),
    Column("requested_by", ID, nullable=True),
    Column("state", String(16), nullable=False),
    Column("total", Integer, nullable=False),
    Column("done", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("started_at", UtcDateTime(), nullable=True),
    Column("finished_at", UtcDateTime(), nullable=True),
    Column("heartbeat_at", UtcDateTime(), nullable=False),
    # onyx_core.refresh.lock_key while the run is active, NULL once it ended: the unique constraint is the one
    # refresh-all per agency (and one refresh per creator) across processes, on both engines (NULLs never clash);
    # its index serves RefreshRunStore.active, the primary key RefreshRunStore.get
    Column("lock_key", String(160), nullable=True, unique=True),
)

creators = Table(
    "creators",
    metadata,
    Column("id", ID, primary_key=True),  # the creator's Fanvue uuid
    Column("agency_id", ID, ForeignKey("agencies.id"), nullable=False),
    Column("handle", String(200), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("imported_at", UtcDateTime(), nullable=False),
    # bumped in the same transaction by every write that changes the creator's dashboard data (ledger rows,
    # stats, subscriber days, tracking links and their costs, her names): the response cache's stamp
    Column("data_version", BigInteger, nullable=False, server_default="0"),
    # CreatorRepository.for_agency: the agency's creators by id
    Index(None, "agency_id", "id"),
)

connections = Table(
    "connections",
    metadata,
    Column("id", ID, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("agency_id", ID, ForeignKey("agencies.id"), nullable=False),
    Column("creator_id", ID, nullable=True),
    Column("fanvue_user_uuid", UUID_TEXT, nullable=False),
    Column("status", String(16), nullable=False),
    # the TokenSet as encrypted JSON (MultiFernet): never a token in clear
    Column("tokens", LargeBinary, nullable=True),
    Column("token_version", BigInteger, nullable=False),
    Column("expires_at", UtcDateTime(), nullable=True),  # not secret; lets maintenance find expiring tokens
    Column("last_refreshed_at", UtcDateTime(), nullable=True),
    Column("last_used_at", UtcDateTime(), nullable=True),
    Column("last_error", Text, nullable=True),
    # ConnectionRepository.for_agency / for_creator
    Index(None, "agency_id", "kind"),
    Index(None, "creator_id"),
)

creator_stats = Table(
    "creator_stats",
    metadata,
    Column("creator_id", ID, ForeignKey("creators.id"), primary_key=True),
    Column("metric", String(64), primary_key=True),
    # what to show, in columns for queries; ``record`` is the full merge state (onyx_core.stats.codec)
    Column("value", BigInteger, nullable=True),
    Column("observed_at", UtcDateTime(), nullable=True),
    Column("source", String(64), nullable=True),
    Column("stale_since", UtcDateTime(), nullable=True),
    Column("pending_value", BigInteger, nullable=True),
    Column("record", Text, nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("latest_at", UtcDateTime(), nullable=True),  # the record's, for the heartbeat's MAX … GROUP BY
)

stats_events = Table(
    "stats_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), Identity(), primary_key=True),
    Column("creator_id", ID, ForeignKey("creators.id"), nullable=False),
    Column("metric", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("source", String(64), nullable=False),
    Column("old_value", BigInteger, nullable=True),
    Column("new_value", BigInteger, nullable=True),
    Column("detail", Text, nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    # StatsRepository.events: a creator's events (of one metric) in recorded order
    Index(None, "creator_id", "metric", "id"),
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("creator_id", ID, ForeignKey("creators.id"), primary_key=True),
    # onyx_core.ledger.ledger_key: transactionOrderId when Fanvue gives one, else a hash of the row's content
    Column("key", String(128), primary_key=True),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("source", String(32), nullable=False),
    Column("gross_cents", BigInteger, nullable=False),
    Column("net_cents", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("fan_id", ID, nullable=True),
    Column("reference", ID, nullable=True),
    Column("original_currency", String(8), nullable=True),
    # entries(period) and revenue over time
    Index(None, "creator_id", "occurred_at"),
    # revenue by source and period
    Index(None, "creator_id", "source", "occurred_at"),
    # one fan's spending (SqlAnalytics.fan_spend)
    Index(None, "creator_id", "fan_id"),
    # the one-currency check before every analytics read: a probe instead of a scan of the creator's history
    Index(None, "creator_id", "currency"),
)

subscriber_days = Table(
    "subscriber_days",
    metadata,
    Column("creator_id", ID, ForeignKey("creators.id"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("new", Integer, nullable=False),
    Column("cancelled", Integer, nullable=False),
)

top_spenders = Table(
    "top_spenders",
    metadata,
    Column("scope", String(80), primary_key=True),  # a creator id, or "agency:<id>"
    Column("rank", Integer, primary_key=True),
    Column("fan_id", ID, nullable=False),
    Column("handle", String(200), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("gross_cents", BigInteger, nullable=False),
    Column("net_cents", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("messages", Integer, nullable=False),
    Column("creator_id", ID, nullable=True),
    Column("last_seen_at", UtcDateTime(), nullable=True),
    Column("as_of", UtcDateTime(), nullable=False),
)

tracking_links = Table(
    "tracking_links",
    metadata,
    Column("id", ID, primary_key=True),
    Column("creator_id", ID, ForeignKey("creators.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("url", String(200), nullable=False),
    Column("platform", String(32), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("clicks", BigInteger, nullable=False),
    Column("acquired_subscribers", BigInteger, nullable=False),
    Column("acquired_followers", BigInteger, nullable=False),
    Column("earnings_gross_cents", BigInteger, nullable=True),
    Column("earnings_net_cents", BigInteger, nullable=True),
    Column("earnings_currency", String(3), nullable=True),
    # TrackingLinkRepository.for_creator
    Index(None, "creator_id"),
)

chatter_days = Table(
    "chatter_days",
    metadata,
    # Fanvue's chatter leaderboard per UTC day: agency-wide, not split by creator
    Column("agency_id", ID, ForeignKey("agencies.id"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("chatter_id", ID, primary_key=True),
    Column("chatter_name", String(200), nullable=False),
    Column("messages", BigInteger, nullable=False),
    Column("ppvs_sent", BigInteger, nullable=False),
    Column("ppvs_unlocked", BigInteger, nullable=False),
    Column("revenue_cents", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
)

tracking_link_costs = Table(
    "tracking_link_costs",
    metadata,
    # entered by the agency; apart from tracking_links, whose rows every sync rewrites (a cost column there would
    # be wiped by the next upsert)
    Column("link_id", ID, ForeignKey("tracking_links.id"), primary_key=True),
    Column("cost_cents", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("set_at", UtcDateTime(), nullable=False),
)

sync_cursors = Table(
    "sync_cursors",
    metadata,
    Column("creator_id", ID, ForeignKey("creators.id"), primary_key=True),
    Column("stream", String(32), primary_key=True),
    Column("synced_through", UtcDateTime(), nullable=True),
    Column("backfilled", Boolean, nullable=False),
    Column("window_start", UtcDateTime(), nullable=True),
    Column("window_end", UtcDateTime(), nullable=True),
    Column("page_cursor", Text, nullable=True),
    Column("updated_at", UtcDateTime(), nullable=True),
)

webhook_secrets = Table(
    "webhook_secrets",
    metadata,
    # the agency's Fanvue webhook signing secret, encrypted with the Cipher: never in clear, never logged
    Column("agency_id", ID, ForeignKey("agencies.id"), primary_key=True),
    Column("secret", LargeBinary, nullable=False),
    Column("set_at", UtcDateTime(), nullable=False),
)

webhook_payments = Table(
    "webhook_payments",
    metadata,
    # one row per payment a webhook announced (onyx_core.provisional): a redelivery finds its row and adds nothing
    Column("creator_id", ID, ForeignKey("creators.id"), primary_key=True),
    Column("delivery_key", String(128), primary_key=True),
    Column("event_type", String(64), nullable=False),
    # the ledger row that stands for the payment: the provisional one, then the polled one that settled it
    Column("ledger_key", String(128), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    # the polled rows already claimed by a webhook (settling, and a webhook that arrives after its poll)
    Index(None, "creator_id", "ledger_key"),
)

ops_leases = Table(
    "ops_leases",
    metadata,
    # one row per lease (e.g. "heartbeat"): who holds it and until when no one else may take it, across processes
    Column("name", String(64), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("available_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime(), nullable=True),
    Column("report", Text, nullable=True),  # JSON: what the last holder did (no secret)
    Column("state", Text, nullable=True),  # JSON: what the holders carry from one run to the next
)
