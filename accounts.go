package srm

// UserSummary is a user as the admins' list of users shows them.
type UserSummary struct {
	User
	Sessions int   // live sessions: unexpired, and made from the account as it is
	Owner    Owner // the owner the user is linked to; ID 0 when none
}

// OwnerLink is an owner and the user linked to it, if any.
type OwnerLink struct {
	Owner
	UserID    int64  // 0 when no user is linked
	UserEmail string // "" when no user is linked
}

// UserDetail is one account with what its admin page shows beside it.
type UserDetail struct {
	User         User
	Sessions     int         // live sessions
	ActiveAdmins int         // admins not disabled, this account included if it is one
	Owners       []OwnerLink // every owner, by name, with the user linked to each
}
