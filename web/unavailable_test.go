package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/web"
)

// TestUnreachableDatabaseAnswers503: while PostgreSQL refuses connections,
// a page that needs it answers 503 with Retry-After and says the database
// is not answering, whether the session lookup or the handler meets the
// outage first.
func TestUnreachableDatabaseAnswers503(t *testing.T) {
	t.Parallel()
	cfg, err := pgxpool.ParseConfig("postgres://srm@127.0.0.1:1/srm?connect_timeout=1&sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	srv := newServer(t, store.New(pool), web.Config{})

	withSession := httptest.NewRequest(http.MethodGet, "/", nil)
	withSession.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: strings.Repeat("a", 43)})
	signIn := httptest.NewRequest(http.MethodPost, "/signin",
		strings.NewReader(url.Values{"email": {"ada@example.com"}, "password": {testPassword}}.Encode()))
	signIn.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for what, req := range map[string]*http.Request{"GET / with a session": withSession, "POST /signin": signIn} {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		wantStatus(t, what, rec, http.StatusServiceUnavailable)
		if got := rec.Header().Get("Retry-After"); got != "5" {
			t.Errorf("%s: Retry-After = %q, want 5", what, got)
		}
		if !strings.Contains(rec.Body.String(), "The database is not answering") {
			t.Errorf("%s: page does not say the database is not answering: %s", what, snippet(rec.Body.String()))
		}
	}
}
