//! Who may ask for work: the one rule for bans and the allowlist, used by every door (messages,
//! buttons, the HTTP API).

use crate::storage::{AccessMode, UserAccess};

/// The outcome of the access rule for one requester.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    Admitted,
    Banned,
    /// `allowlist` mode and not admitted.
    NotAllowed,
}

/// The access rule. Admins pass always; a ban wins over everything else; in `allowlist` mode a
/// user passes when allowed themselves or admitted through a group (`admitted_by_group`: the
/// group the request comes from is allowed, or, outside groups, the user was seen in one).
pub fn admission(
    is_admin: bool,
    access: &UserAccess,
    mode: AccessMode,
    admitted_by_group: bool,
) -> Admission {
    if is_admin {
        Admission::Admitted
    } else if access.banned {
        Admission::Banned
    } else if mode == AccessMode::Open || access.allowed || admitted_by_group {
        Admission::Admitted
    } else {
        Admission::NotAllowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ban_wins_over_an_allowlist_entry_but_not_over_admin_rights() {
        let banned = UserAccess {
            allowed: true,
            banned: true,
            daily_quota: None,
        };
        assert_eq!(
            admission(false, &banned, AccessMode::Open, true),
            Admission::Banned
        );
        assert_eq!(
            admission(true, &banned, AccessMode::Allowlist, false),
            Admission::Admitted
        );
    }

    #[test]
    fn allowlist_mode_admits_allowed_users_and_members_of_allowed_groups_only() {
        let stranger = UserAccess::default();
        let allowed = UserAccess {
            allowed: true,
            ..Default::default()
        };
        let mode = AccessMode::Allowlist;
        assert_eq!(admission(false, &stranger, mode, false), Admission::NotAllowed);
        assert_eq!(admission(false, &stranger, mode, true), Admission::Admitted);
        assert_eq!(admission(false, &allowed, mode, false), Admission::Admitted);
        assert_eq!(
            admission(false, &stranger, AccessMode::Open, false),
            Admission::Admitted
        );
    }
}
