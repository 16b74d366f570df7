package store_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
)

func TestClientBucket(t *testing.T) {
	for ip, want := range map[string]string{
		"198.51.100.7":                     "198.51.100.7",
		"::ffff:198.51.100.7":              "198.51.100.7",
		"2001:db8:1:2:3:4:5:6":             "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:ffff:ffff:ffff": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":                  "2001:db8:1:3::/64",
		"fe80::1%eth0":                     "fe80::/64",
		"::1":                              "::/64",
		"unknown":                          store.UnknownClient,
		"":                                 store.UnknownClient,
		"198.51.100.7:443":                 store.UnknownClient,
	} {
		if got := store.ClientBucket(ip); got != want {
			t.Errorf("ClientBucket(%q) = %q, want %q", ip, got, want)
		}
	}
}

// TestConcurrentAttemptsFromOneClientStopAtItsLimit: 60 attempts at once
// from one client, each at a different account, count exactly the
// client's limit; the rest are refused uncounted.
func TestConcurrentAttemptsFromOneClientStopAtItsLimit(t *testing.T) {
	t.Parallel()
	// More connections than the default, so that more attempts race.
	cfg, err := pgxpool.ParseConfig(storetest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 30
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	st := store.New(pool)
	ctx := store.WithActor(t.Context(), store.Actor{Name: "anonymous", IP: "2001:db8::1"})
	since := time.Now().Add(-5 * time.Minute)
	counted := make([]bool, 60)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range counted {
		wg.Go(func() {
			<-start
			attempt, _, _, err := st.BeginSignInAttempt(ctx, fmt.Sprintf("burst%d@example.com", i), since, 5, 20)
			if err != nil {
				t.Error(err)
			}
			counted[i] = attempt != 0
		})
	}
	close(start)
	wg.Wait()
	n := 0
	for _, c := range counted {
		if c {
			n++
		}
	}
	if n != 20 {
		t.Errorf("%d of 60 concurrent attempts from one client were counted, want exactly 20", n)
	}
}
