package web_test

// Regression cases for the two server errors that FuzzRequest and the
// replay found while they were being written (both fixed since, in commit
// 6cfaece): each would fail again, naming the bug, if it came back.

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
)

// TestHugePageNumberIsNotAServerError: GET /?page=N and GET
// /owners/{id}?page=N with N near math.MaxInt answered 500, because
// portfolioPage (web/workloads.go) and queuePage (web/owners.go) took any
// page that strconv.Atoi accepts, and store.Workloads / store.Queue
// computed OFFSET (page-1)*perPage, which overflows int64 to a negative
// number that PostgreSQL refuses ("OFFSET must not be negative", SQLSTATE
// 2201X). A page past the end must be a page, never an error.
func TestHugePageNumberIsNotAServerError(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.workload("Depot servers", srm.IaaS)
	o := h.owner("Platform team")
	for _, path := range []string{"/", "/owners/" + itoa(o.ID)} {
		for _, page := range []string{"9223372036854775807", "184467440737095517", "9223372036854775", "92233720368547759"} {
			rec := h.get(path + "?page=" + page)
			if rec.Code >= 500 {
				t.Errorf("BUG: GET %s?page=%s = %d: the page number overflows the OFFSET in store.Workloads/store.Queue; "+
					"clamp the page in web (portfolioPage, queuePage) or the offset in store before querying", path, page, rec.Code)
			} else if rec.Code != http.StatusOK {
				t.Errorf("GET %s?page=%s = %d, want 200: a page past the end is a page", path, page, rec.Code)
			}
		}
	}
}

// TestCatalogChangesDoNotDeadlockWithWorkloadChanges: adding a custom
// control while others saved statuses or registered workloads answered 500
// now and then: "deadlock detected (SQLSTATE 40P01)". The trigger of
// migration 000003 ran refresh_progress(NULL) on every control insert,
// rewriting every row of portfolio_shards in one statement, while each
// status or workload change (refresh_progress(wid)) updated the seven
// portfolio_shards rows of its workload one layer at a time: the two took
// the same row locks in different orders.
func TestCatalogChangesDoNotDeadlockWithWorkloadChanges(t *testing.T) {
	t.Parallel()
	pool := storetest.Pool(t)
	st := store.New(pool)
	logs := &replayLog{}
	srv := httptest.NewServer(newLoggingServer(t, st, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelError}))))
	defer srv.Close()
	ctx := storetest.Context(t)
	bs, err := st.Baselines(ctx)
	if err != nil {
		t.Fatal(err)
	}
	areas, err := st.Areas(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ws []srm.Workload
	for i := range 4 {
		w := srm.Workload{Name: fmt.Sprintf("Workload %d", i), Model: srm.OnPrem, BaselineID: bs[0].ID}
		if err := st.CreateWorkload(ctx, &w); err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	cs, err := st.Controls(ctx)
	if err != nil {
		t.Fatal(err)
	}

	var (
		mu      sync.Mutex
		errors  []string
		refused []string
		wg      sync.WaitGroup
	)
	session := remoteSession(t, srv.URL, st, srm.RoleAdmin)
	post := func(path string, form url.Values) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		session(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
		mu.Lock()
		defer mu.Unlock()
		switch {
		case resp.StatusCode >= 500:
			errors = append(errors, fmt.Sprintf("POST %s: %d", path, resp.StatusCode))
		case resp.StatusCode >= 400:
			refused = append(refused, fmt.Sprintf("POST %s: %d", path, resp.StatusCode))
		}
	}
	for g := range 2 { // catalog changes
		wg.Go(func() {
			for i := range 15 {
				post("/controls", url.Values{"title": {fmt.Sprintf("Custom %d-%d", g, i)}, "layer": {string(srm.Layers[i%7])},
					"area": {string(areas[i%len(areas)].Slug)}})
			}
		})
	}
	for g, w := range ws { // statuses, and new workloads
		wg.Go(func() {
			saved := map[int64]bool{} // a second save would need the version the first left
			for i := range 40 {
				if i%4 == 3 {
					post("/workloads", url.Values{"name": {fmt.Sprintf("New %d-%d", g, i)}, "model": {string(srm.ServiceModels[i%4])},
						"baseline": {itoa(bs[0].ID)}})
					continue
				}
				c := cs[(g*40+i)%len(cs)]
				if saved[c.ID] {
					continue
				}
				saved[c.ID] = true
				post(statusPath(w.ID, c.ID), url.Values{"owner": {fmt.Sprintf("Owner %d", i%3)}, "complete": {fmt.Sprint(i % 2)}})
			}
		})
	}
	wg.Wait()
	if len(errors) > 0 {
		t.Errorf("BUG: %d writes answered 5xx: %s; the server logged:\n%s",
			len(errors), strings.Join(errors, "; "), logs.String())
	}
	// A run in which every write was refused would show no deadlock either:
	// every write must have been accepted and be there afterwards.
	if len(refused) > 0 {
		t.Errorf("%d writes were refused: %s", len(refused), strings.Join(refused, "; "))
	}
	after, err := st.Controls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(after)-len(cs), 2*15; got != want {
		t.Errorf("%d custom controls were added, want %d", got, want)
	}
	var created, owned int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM workloads WHERE name LIKE 'New %'`).Scan(&created); err != nil {
		t.Fatal(err)
	}
	if want := len(ws) * 10; created != want {
		t.Errorf("%d workloads were registered, want %d", created, want)
	}
	if err := pool.QueryRow(ctx, `SELECT count(DISTINCT workload_id) FROM statuses s JOIN owners o ON o.id = s.owner_id
		WHERE o.name LIKE 'Owner %'`).Scan(&owned); err != nil {
		t.Fatal(err)
	}
	if owned != len(ws) {
		t.Errorf("statuses with an owner were saved on %d workloads, want %d", owned, len(ws))
	}
}

// TestAVersionThatIsNotANumberIsRefused: a form's version was read with
// its parse error dropped, so "abc" (or an overflowing number) counted as
// "no version yet" and a save could go through unconditionally.
func TestAVersionThatIsNotANumberIsRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.workload("Depot servers", srm.IaaS)
	for _, v := range []string{"abc", "1e3", "-1", "99999999999999999999"} {
		rec := h.post("/workloads/"+itoa(w.ID), url.Values{"name": {"Renamed " + v}, "model": {string(srm.PaaS)},
			"baseline": {itoa(w.BaselineID)}, "version": {v}, "confirm": {"1"}})
		wantStatus(t, "version "+v, rec, http.StatusBadRequest)
	}
	got, err := h.st.Workload(storetest.Context(t), w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != w.Name || got.Model != w.Model || got.Version != w.Version {
		t.Errorf("after refused saves the workload is %q %s v%d, want %q %s v%d", got.Name, got.Model, got.Version, w.Name, w.Model, w.Version)
	}
}
