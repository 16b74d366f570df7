package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/web"
)

// TestBrowserStepUp drives headless Chromium through step-up: an admin
// with an authenticator, signed in more than ten minutes ago, adds an admin
// account; the "Confirm it's you" page comes instead (screenshots at
// desktop and phone width in artifacts/browser), every field labelled; the
// password and a code there add the account as it was typed.
func TestBrowserStepUp(t *testing.T) {
	if _, err := os.Stat(browserChromium); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing (%v); CI must install Debian's chromium", browserChromium, err)
		}
		t.Skipf("%s is missing (%v); apt-get install -y chromium to run the browser tests", browserChromium, err)
	}
	ctx, cancel := context.WithTimeout(storetest.Context(t), browserBudget)
	defer cancel()

	st := store.New(storetest.Pool(t))
	admin := newUser(t, st, "stepup@example.com", srm.RoleAdmin)
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "srm", AccountName: admin.Email})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.EnableTOTP(ctx, admin.ID, key.Secret(), 0, nil); err != nil {
		t.Fatal(err)
	}
	clock := &testClock{}
	srv := httptest.NewServer(newServer(t, st, web.Config{Now: clock.Now}))
	defer srv.Close()

	dir := shotDir(t)
	bctx, _ := startBrowser(t, ctx)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v", browserChromium, err)
	}
	j := &browserJourney{t: t, ctx: bctx, base: srv.URL, dir: dir, n: 50}

	j.step("stepup-sign-in", func() {
		j.open("/signin")
		j.signIn(admin.Email, testPassword)
		code, err := totp.GenerateCode(key.Secret(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		j.do("enter the code", chromedp.SendKeys(chromedp.CSS("#code"), code))
		j.clickToPage(j.testID("verify"), http.StatusOK)
	})

	clock.advance(stale)
	j.step("stepup-confirm-page", func() {
		j.open("/admin/users")
		j.do("fill the add-account form",
			chromedp.SendKeys(chromedp.CSS("#email"), "ada@example.com"),
			chromedp.SendKeys(chromedp.CSS("#name"), "Ada Lovelace"),
			chromedp.Click(chromedp.CSS(`input[name="role"][value="admin"]`)),
			chromedp.SendKeys(chromedp.CSS("#password"), "a long initial password"))
		j.clickToPage(j.testID("add-user"), http.StatusUnauthorized)
		if h := j.text("h1"); h != "Confirm it's you" {
			t.Fatalf("after adding an admin with a stale proof the page reads %q, want the confirmation page", h)
		}
		unlabelled := browserEval[string](j, "unlabelled fields", `[...document.querySelectorAll("main input:not([type=hidden]), main select, main textarea")]
			.filter(e => e.labels.length === 0 || [...e.labels].every(l => l.textContent.trim() === "")).map(e => e.name).join(",")`)
		if unlabelled != "" {
			t.Errorf("fields without a label on the confirmation page: %s", unlabelled)
		}
		if f := browserEval[string](j, "the focused field", `document.activeElement?.id ?? ""`); f != "reauth-password" {
			t.Errorf("the focused field is %q, want the password", f)
		}
		j.shot("stepup-confirm-desktop")
		j.do("phone width", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
		if w := browserEval[float64](j, "page width", `document.documentElement.scrollWidth`); w > 390 {
			t.Errorf("the confirmation page is %v px wide at phone width 390: it scrolls sideways", w)
		}
		j.shot("stepup-confirm-phone")
		j.do("desktop width", chromedp.EmulateReset())
	})

	j.step("stepup-confirmed", func() {
		code, err := totp.GenerateCode(key.Secret(), time.Now().Add(30*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		j.do("prove identity",
			chromedp.SendKeys(chromedp.CSS("#reauth-password"), testPassword),
			chromedp.SendKeys(chromedp.CSS("#reauth-code"), code))
		j.clickToPage(j.testID("confirm"), http.StatusOK)
		if n := j.text(j.testID("notice")); !strings.HasPrefix(n, "Account added.") {
			t.Errorf("after confirming, the notice reads %q, want Account added.", n)
		}
		u, err := st.UserForSignIn(ctx, "ada@example.com")
		if err != nil || u.User.Role != srm.RoleAdmin || u.User.Name != "Ada Lovelace" {
			t.Errorf("after confirming: account %+v, %v; want the admin as typed", u.User, err)
		}
	})
}
