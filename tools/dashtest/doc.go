// Package dashtest is the browser test of the operator dashboard: it builds
// arcade-server and arcade-bot, runs them on loopback with four grabbing
// bots, opens the dashboard in headless Chromium through chromedp at the
// address the server printed (with the operator token in its fragment),
// checks that live figures arrive and the charts draw, that the page keeps
// the token and its reset button's POST is accepted (the latency samples
// start again), and saves a full-page screenshot ($ARTIFACTS_DIR/dashboard.png,
// else bin/dashboard.png).
//
// It skips when not on Linux or when /usr/bin/chromium is missing; install
// it with tools/install-chromium.sh.
package dashtest
