package credential

import "time"

// Lockout is the rule every check of something only the person should
// know (a password, a code from the app, a recovery code) runs under,
// wherever it is asked for: After failures of one account within Window
// lock it for Window from the last of them, and ClientLimit failures from
// one client within Window stop that client. Every attempt counts as a
// failure before its check runs, and is forgotten if the check passes;
// a refused attempt counts for nothing, so attempts while locked never
// prolong the lockout. The counting itself is the store's.
type Lockout struct {
	After       int           // failures of one account…
	Window      time.Duration // …within this long lock it for as long from the last of them
	ClientLimit int           // failures from one client (store.ClientBucket) within Window
}

// DefaultLockout is srm's: five failures of an account within five
// minutes lock it for five minutes; twenty from one client stop it.
var DefaultLockout = Lockout{After: 5, Window: 5 * time.Minute, ClientLimit: 20}

// Verdict is how an attempt under the lockout came out.
type Verdict int

const (
	Passed        Verdict = iota // admitted and right (Admit: admitted, check it)
	Failed                       // checked and wrong
	Locked                       // too many failures of the account: refused without checking, or locked by this one
	ClientLimited                // too many failures from the client: refused without checking
)

// Since is the start of the window that counts at now.
func (l Lockout) Since(now time.Time) time.Time {
	return now.Add(-l.Window)
}

// Admit decides, from the failures of the account and of the client
// within the window before this attempt, whether its check may run
// (Passed) or is refused: ClientLimited when the client is at its limit
// (whatever the account), else Locked when the account is.
func (l Lockout) Admit(account, client int) Verdict {
	switch {
	case client >= l.ClientLimit:
		return ClientLimited
	case account >= l.After:
		return Locked
	}
	return Passed
}

// Settle is the verdict of a wrong answer that left the account with
// failures within the window, itself included: Locked from the After-th.
func (l Lockout) Settle(failures int) Verdict {
	if failures >= l.After {
		return Locked
	}
	return Failed
}

// RetryAfter is how long a refused client should wait, in whole seconds,
// for a Retry-After header: the window.
func (l Lockout) RetryAfter() int {
	return int(l.Window / time.Second)
}
