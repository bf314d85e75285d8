// Package headless opens the dashboard in headless Chromium for the tests
// that check what an operator sees: one set of browser flags (those that
// keep Chromium from reaching anything but the page under test), a fresh
// profile per test.
package headless

import (
	"context"
	"os"
	"testing"

	"github.com/chromedp/chromedp"
)

// Chromium is where tools/install-chromium.sh puts the browser.
const Chromium = "/usr/bin/chromium"

// SkipWithout skips t, naming the install script, when Chromium is not
// installed.
func SkipWithout(t testing.TB, what string) {
	t.Helper()
	if _, err := os.Stat(Chromium); err != nil {
		t.Skipf("%s skipped: no %s (tools/install-chromium.sh)", what, Chromium)
	}
}

// Open starts headless Chromium with a fresh profile under ctx and returns
// a browser context, to be used with chromedp.Run; the browser stops when
// the test ends or ctx is done. Chromium runs without its sandbox (the
// tests run as root), without a GPU, and without the background
// networking, component updates and sync that would reach the internet.
func Open(ctx context.Context, t testing.TB) context.Context {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(Chromium),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	)
	page, cancelPage := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelPage(); cancelAlloc() })
	return page
}
