package credential_test

import (
	"testing"
	"time"

	"github.com/srmhq/srm/credential"
)

func TestDefaultLockout(t *testing.T) {
	l := credential.DefaultLockout
	if l.After != 5 || l.Window != 5*time.Minute || l.ClientLimit != 20 || l.RetryAfter() != 300 {
		t.Errorf("DefaultLockout = %+v (Retry-After %d), want 5 failures in 5 minutes, 20 per client, 300 s", l, l.RetryAfter())
	}
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	if got := l.Since(now); !got.Equal(now.Add(-5 * time.Minute)) {
		t.Errorf("Since(%s) = %s, want five minutes before", now, got)
	}
}

// TestLockoutAdmit: an attempt is checked only while both the account and
// the client are under their limits; the client's limit is named first,
// so a client at its cap learns nothing about the account.
func TestLockoutAdmit(t *testing.T) {
	l := credential.DefaultLockout
	for _, tc := range []struct {
		account, client int
		want            credential.Verdict
	}{
		{0, 0, credential.Passed},
		{4, 19, credential.Passed},
		{5, 0, credential.Locked},
		{9, 19, credential.Locked},
		{0, 20, credential.ClientLimited},
		{5, 20, credential.ClientLimited},
		{4, 25, credential.ClientLimited},
	} {
		if got := l.Admit(tc.account, tc.client); got != tc.want {
			t.Errorf("Admit(account %d, client %d) = %s, want %s", tc.account, tc.client, got, tc.want)
		}
	}
}

// TestLockoutSettle: a wrong answer fails, and the fifth within the window
// (or any while the account is locked) locks.
func TestLockoutSettle(t *testing.T) {
	l := credential.DefaultLockout
	for failures, want := range map[int]credential.Verdict{
		1: credential.Failed, 4: credential.Failed, 5: credential.Locked, 6: credential.Locked,
	} {
		if got := l.Settle(failures); got != want {
			t.Errorf("Settle(%d) = %s, want %s", failures, got, want)
		}
	}
	if got := (credential.Lockout{After: 2, Window: time.Minute, ClientLimit: 3}).Settle(2); got != credential.Locked {
		t.Errorf("a lockout after 2: Settle(2) = %s, want locked", got)
	}
}
