"""The accounts use cases (all async, first argument :class:`AccountsDeps`); re-exported by
:mod:`onyx_core.accounts`."""

from onyx_core.accounts.usecases.api_tokens import create_api_token, list_api_tokens, revoke_api_token
from onyx_core.accounts.usecases.audit_log import read_audit, record_audit
from onyx_core.accounts.usecases.auth import (
    authenticate_api_token,
    authenticate_session,
    create_owner,
    login_password,
    logout,
    use_recovery_code,
    verify_totp,
)
from onyx_core.accounts.usecases.connect import begin_connect, begin_creator_connect, finish_connect
from onyx_core.accounts.usecases.deps import (
    AccountsDeps,
    ApiTokenIssued,
    ConnectStart,
    InviteIssued,
    Principal,
    SessionIssued,
    TotpSetup,
    require,
    require_creator,
    visible_creators,
)
from onyx_core.accounts.usecases.members import (
    accept_invite,
    change_password,
    change_role,
    change_scope,
    invite_creator_connect,
    invite_member,
    list_invites,
    list_members,
    remove_member,
    revoke_invite,
)
from onyx_core.accounts.usecases.two_factor import (
    begin_totp_enrolment,
    confirm_totp_enrolment,
    disable_totp,
    regenerate_recovery_codes,
    set_two_factor_required,
)

__all__ = [
    "AccountsDeps",
    "ApiTokenIssued",
    "ConnectStart",
    "InviteIssued",
    "Principal",
    "SessionIssued",
    "TotpSetup",
    "accept_invite",
    "authenticate_api_token",
    "authenticate_session",
    "begin_connect",
    "begin_creator_connect",
    "begin_totp_enrolment",
    "change_password",
    "change_role",
    "change_scope",
    "confirm_totp_enrolment",
    "create_api_token",
    "create_owner",
    "disable_totp",
    "finish_connect",
    "invite_creator_connect",
    "invite_member",
    "list_api_tokens",
    "list_invites",
    "list_members",
    "login_password",
    "logout",
    "read_audit",
    "record_audit",
    "regenerate_recovery_codes",
    "remove_member",
    "require",
    "require_creator",
    "revoke_api_token",
    "revoke_invite",
    "set_two_factor_required",
    "use_recovery_code",
    "verify_totp",
    "visible_creators",
]
