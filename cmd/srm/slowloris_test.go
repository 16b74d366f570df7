package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srmhq/srm/store/storetest"
)

// slowlorisHeaderTimeout is serve's ReadHeaderTimeout: a client must have
// sent its whole request head by then.
const slowlorisHeaderTimeout = 5 * time.Second

// slowlorisLog is the server's log, safe for its goroutines.
type slowlorisLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *slowlorisLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *slowlorisLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSlowClientsAreCutOff runs serve as main does and opens connections
// that send their request head one byte a second (slowloris). The server
// must close each within about ReadHeaderTimeout (5 s), and keep answering
// everybody else meanwhile.
func TestSlowClientsAreCutOff(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	ctx, cancel := context.WithCancel(t.Context())
	logs := &slowlorisLog{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, func(k string) string {
			return map[string]string{"DATABASE_URL": dbURL, "SRM_ADDR": "127.0.0.1:0", "SRM_SHUTDOWN_DRAIN": "0s",
				"SRM_ALLOW_OWNER_ROLE": "1"}[k]
		}, strings.NewReader(""), io.Discard, logs)
	}()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("serve did not shut down within 15 s")
		}
	}()
	serving := regexp.MustCompile(`url=http://(127\.0\.0\.1:\d+)`)
	var addr string
	for deadline := time.Now().Add(20 * time.Second); addr == ""; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("srm did not start; logs:\n%s", logs.String())
		}
		if m := serving.FindStringSubmatch(logs.String()); m != nil {
			addr = m[1]
		}
	}

	const slow = 20
	head := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUser-Agent: slowloris\r\nX-Padding: " + strings.Repeat("a", 60) + "\r\n\r\n"
	type cut struct {
		after time.Duration
		sent  int
		err   error
	}
	cuts := make(chan cut, slow)
	start := time.Now()
	for range slow {
		go func() {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				cuts <- cut{err: err}
				return
			}
			defer conn.Close()
			began := time.Now()
			_ = conn.SetDeadline(began.Add(3 * slowlorisHeaderTimeout))
			closed := make(chan struct{})
			go func() { // the server's answer, if any, then its close
				_, _ = io.Copy(io.Discard, conn)
				close(closed)
			}()
			sent := 0
		write:
			for sent < len(head) {
				if _, err := conn.Write([]byte{head[sent]}); err != nil {
					break // the server closed the connection
				}
				sent++
				select {
				case <-closed:
					break write
				case <-time.After(time.Second):
				}
			}
			<-closed
			after := time.Since(began)
			if sent == len(head) {
				err = errors.New("the whole request head went through")
			}
			cuts <- cut{after: after, sent: sent, err: err}
		}()
	}

	// While the slow clients hang on, others are served at once.
	time.Sleep(time.Second)
	for i := range 3 {
		reqStart := time.Now()
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatalf("GET /healthz #%d while %d slow clients hang on: %v", i, slow, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || time.Since(reqStart) > time.Second {
			t.Errorf("GET /healthz #%d while slow clients hang on: %d after %v", i, resp.StatusCode, time.Since(reqStart))
		}
	}

	var longest time.Duration
	for range slow {
		c := <-cuts
		switch {
		case c.err != nil:
			t.Errorf("slow client (%d bytes sent in %v): %v", c.sent, c.after.Round(time.Millisecond), c.err)
		case c.after > slowlorisHeaderTimeout+1500*time.Millisecond:
			t.Errorf("a slow client was cut off after %v (%d bytes sent), want about %v (ReadHeaderTimeout)",
				c.after.Round(time.Millisecond), c.sent, slowlorisHeaderTimeout)
		case c.after < slowlorisHeaderTimeout-time.Second:
			t.Errorf("a slow client was cut off after only %v (%d bytes sent): sooner than ReadHeaderTimeout (%v)",
				c.after.Round(time.Millisecond), c.sent, slowlorisHeaderTimeout)
		}
		longest = max(longest, c.after)
	}
	t.Logf("%d slow clients, each sending one byte a second, were all cut off within %v (test took %v)",
		slow, longest.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}
