package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srmhq/srm/store/storetest"
)

// slowlorisHeaderTimeout is serve's ReadHeaderTimeout in this test
// (SRM_HTTP_READ_HEADER_TIMEOUT; 5 s by default): a client must have sent
// its whole request head by then. slowlorisByte is how often a slow client
// sends one more byte: its head takes far longer than the timeout.
const (
	slowlorisHeaderTimeout = time.Second
	slowlorisByte          = slowlorisHeaderTimeout / 10
)

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
// that send their request head one byte at a time, slowly (slowloris). The
// server must close each within about ReadHeaderTimeout, and keep answering
// everybody else meanwhile.
func TestSlowClientsAreCutOff(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	ctx, cancel := context.WithCancel(t.Context())
	logs := &slowlorisLog{}
	base, done := serveInProcess(ctx, t, []string{"serve"}, map[string]string{"DATABASE_URL": dbURL, "SRM_SHUTDOWN_DRAIN": "0s",
		"SRM_ALLOW_OWNER_ROLE": "1", "SRM_HTTP_READ_HEADER_TIMEOUT": slowlorisHeaderTimeout.String()}, io.Discard, logs)
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
	if base == "" {
		t.Fatalf("srm did not start; logs:\n%s", logs.String())
	}
	addr := strings.TrimPrefix(base, "http://")

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
				case <-time.After(slowlorisByte):
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
	time.Sleep(slowlorisHeaderTimeout / 4)
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
		case c.after < slowlorisHeaderTimeout-2*slowlorisByte:
			t.Errorf("a slow client was cut off after only %v (%d bytes sent): sooner than ReadHeaderTimeout (%v)",
				c.after.Round(time.Millisecond), c.sent, slowlorisHeaderTimeout)
		}
		longest = max(longest, c.after)
	}
	t.Logf("%d slow clients, each sending one byte every %v, were all cut off within %v (test took %v)",
		slow, slowlorisByte, longest.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}
