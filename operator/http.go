// Package operator serves a venue operator's view of a running server over
// HTTP: /api/stats (the server's Report as JSON), /metrics (Prometheus),
// the reset of the measurements, and the live dashboard. It reads only
// what the server publishes for readers (Report, Stats, its Config), never
// the tick thread's state, so a slow or hostile HTTP client cannot delay a
// tick.
package operator

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/tick"
)

// Source is what the operator surface reads: *server.Server.
type Source interface {
	Report() server.StatsReport
	// ClientList is the connected headsets as last published (Report's
	// ClientList, without the rest of the report).
	ClientList() []server.ClientInfo
	Stats() *server.Stats
	Config() server.Config
	ResetMeasurements()
	// Loop is the tick thread's real-time loop, for its wake and spin
	// figures; nil before it runs.
	Loop() *tick.Loop
}

// Options configure Handler.
type Options struct {
	// Token is the operator token. Every request whose method is not GET
	// or HEAD (today POST /api/stats/reset; any later POST, PUT or
	// DELETE too) must carry it as "Authorization: Bearer <Token>".
	// Empty: no such request is accepted.
	Token string
}

// Handler serves the operator API:
//
//	GET  /api/stats        StatsReport as JSON
//	GET  /metrics          the same figures in Prometheus text format
//	POST /api/stats/reset  clear the latency and timing histograms (token)
//	GET  /                 the operator dashboard (dashboard.go)
//	GET  /api/events       the dashboard's Server-Sent Events stream
//	GET  /api/capture …    the packet capture (capture.go)
//	GET  /api/replay       a recording served as a live session, and
//	POST /api/replay       its pause, speed and seek (token; replay.go)
//
// GET and HEAD requests are read-only and need no token: anyone who can
// reach the address can read the figures, which is why arcade-server
// listens on loopback unless told otherwise. Every other method changes
// state, or is refused, and needs opt.Token as a bearer token (RFC 6750);
// the check comes before routing, so a route added later is covered too.
// A request without an Authorization bearer token gets 401 with
// "WWW-Authenticate: Bearer realm=..."; one with a wrong token gets 401
// too, with error="invalid_token" added (RFC 6750 §3.1). Tokens are
// compared in constant time (of their SHA-256 digests, so not even the
// length leaks).
//
// The dashboard page sends the token on its reset button's POST: it reads
// it from the URL fragment of the address arcade-server prints at start
// (http://host:port/#token=...), keeps it in the tab's sessionStorage and
// removes it from the address bar. A fragment never leaves the browser (it
// is not in the request line, the Referer or a proxy's log), and a header
// that a script sets cannot be forged by another site's form or image (no
// CORS is served, so a cross-origin fetch with Authorization fails its
// preflight): unlike a cookie, the token is no help to a cross-site request.
func Handler(s Source, opt Options) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/stats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(s.Report())
	})
	mux.Handle("GET /metrics", metricsHandler(newRegistry(s)))
	mux.HandleFunc("POST /api/stats/reset", func(w http.ResponseWriter, r *http.Request) {
		s.ResetMeasurements()
		w.WriteHeader(http.StatusNoContent)
	})
	newDashboard(s).register(mux)
	registerCapture(mux, s) // capture.go: GET /api/capture, POST /api/capture/{start,stop}
	registerReplay(mux, s)  // replay.go: GET and POST /api/replay
	return requireToken(mux, opt.Token)
}

// tokenRealm names the protection space in WWW-Authenticate.
const tokenRealm = `Bearer realm="arcade operator"`

// requireToken wraps next so that every request whose method is not GET
// or HEAD must carry token as "Authorization: Bearer <token>"; see
// Handler for the answers. An empty token refuses every such request.
func requireToken(next http.Handler, token string) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		got, ok := bearerToken(r.Header.Get("Authorization"))
		if !ok {
			unauthorized(w, tokenRealm, "this request changes state: it needs the operator token (Authorization: Bearer <token>)")
			return
		}
		sum := sha256.Sum256([]byte(got))
		if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 || token == "" {
			unauthorized(w, tokenRealm+`, error="invalid_token"`, "wrong operator token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func unauthorized(w http.ResponseWriter, challenge, msg string) {
	w.Header().Set("WWW-Authenticate", challenge)
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, msg, http.StatusUnauthorized)
}

// bearerToken returns the token of an "Authorization: Bearer <token>"
// header value (the scheme is case-insensitive).
func bearerToken(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", false
	}
	return tok, true
}
