package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/credential"
	"github.com/srmhq/srm/store"
)

// lockout is the sign-in lockout, the same wherever something only the
// person should know is checked: signing in, the code step, the
// confirmation page, the account page.
var lockout = credential.DefaultLockout

// lockedOut is what a locked account is told, wherever the lockout stops
// it: signing in, the code step, the account page.
const lockedOut = "This account is locked for five minutes after too many failed attempts. Try again after that."

// retryAfterLock tells the client when a lockout ends.
func retryAfterLock(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(lockout.RetryAfter()))
}

// guarded runs check, which tests something only the person should know
// (a password, a code from the app or a recovery code), under the lockout
// of the account key: the one protocol of every such check.
//
// The attempt is counted as a failure of the account and of the client
// before check runs (store.BeginSignInAttempt), so parallel guesses cannot
// pass either limit. When the account is locked, check does not run and
// the verdict is Locked; that refusal is audited (reason "locked") but not
// counted, so attempts while locked never prolong the lockout. When the
// client is at its limit, check does not run either: an anonymous attempt
// (the sign-in form) is then ClientLimited and not audited, so nobody
// without an account can fill the audit trail; a signed-in person's is
// audited and answered like a locked account. check returns "" when the
// answer is right, or else why it is wrong for the audit trail: a wrong
// answer stays a failed sign-in and may lock the account (Locked), else
// Failed. An error of check forgets the attempt.
func (a *auth) guarded(ctx context.Context, key string, anonymous bool, check func() (why string, err error)) (credential.Verdict, error) {
	since := lockout.Since(time.Now())
	attempt, account, client, err := a.st.BeginSignInAttempt(ctx, key, since, lockout.After, lockout.ClientLimit)
	if err != nil {
		return credential.Failed, err
	}
	why := "locked"
	switch lockout.Admit(account, client) {
	case credential.ClientLimited:
		if anonymous {
			return credential.ClientLimited, nil
		}
	case credential.Passed:
		var checkErr error
		if why, checkErr = check(); checkErr != nil || why == "" { // not a wrong answer: forget the attempt
			if _, err := a.st.EndSignInAttempt(ctx, attempt, key, "", since, lockout.After); err != nil {
				return credential.Failed, err
			}
			if checkErr != nil {
				return credential.Failed, checkErr
			}
			return credential.Passed, nil
		}
	}
	n, err := a.st.EndSignInAttempt(ctx, attempt, key, why, since, lockout.After)
	if err != nil {
		return credential.Failed, err
	}
	if attempt == 0 { // refused: nothing was checked
		return credential.Locked, nil
	}
	return lockout.Settle(n), nil
}

// throttled runs check, a yes-or-no test of what the signed-in person u
// should know, under the account's lockout (guarded); a wrong answer is
// audited as why. Its verdict is never ClientLimited (a signed-in person's
// client at its cap is answered as Locked), but callers go on only when it
// is Passed.
func (a *auth) throttled(r *http.Request, u srm.User, why string, check func() (bool, error)) (credential.Verdict, error) {
	return a.guarded(r.Context(), store.ThrottleKey(u), false, func() (string, error) {
		ok, err := check()
		if ok || err != nil {
			return "", err
		}
		return why, nil
	})
}
