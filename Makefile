# Arcade: make targets. `make help` lists them.
GO      ?= go
PKGS    ?= ./...
BENCHTIME ?= 1s

.PHONY: help test vet race bench check fuzz load grabbench build lab lab-test

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## build the server and the tools into bin/
	$(GO) build -o bin/ ./cmd/... ./tools/...

PREFIX ?= /usr/local
.PHONY: install
install: ## install arcade-server, arcade-cap and arcade-bot into $(PREFIX)/bin, the systemd unit and docs/OPERATING.md (DESTDIR, PREFIX)
	$(GO) build -o bin/ ./cmd/arcade-server ./tools/arcade-cap ./tools/arcade-bot
	install -D -m 0755 bin/arcade-server $(DESTDIR)$(PREFIX)/bin/arcade-server
	install -D -m 0755 bin/arcade-cap $(DESTDIR)$(PREFIX)/bin/arcade-cap
	install -D -m 0755 bin/arcade-bot $(DESTDIR)$(PREFIX)/bin/arcade-bot
	install -D -m 0644 deploy/arcade-server.service $(DESTDIR)/etc/systemd/system/arcade-server.service
	install -D -m 0644 docs/OPERATING.md $(DESTDIR)$(PREFIX)/share/doc/arcade/OPERATING.md

# The lab tests run on their own after the rest, verbosely, so the figures they
# report (delays against each profile's own) show.
LAB_PKGS = ./tools/netlab/...

test: vet ## vet, every test (fuzz seeds included), the race detector on the concurrent packages, the lab tests, then what was skipped and why
	GO=$(GO) ./tools/test.sh

lab-test: ## venue LAN lab tests: namespaces, relay delay/loss/DTIM, teardown (skip, saying why, unless root with ip netns)
	$(GO) test -count=1 -v $(LAB_PKGS)

lab: ## venue LAN lab: server + 8 headset namespaces behind a WiFi-impairing relay, every profile (root; tools/install-lab-deps.sh)
	$(GO) build -o bin/ ./cmd/arcade-server ./tools/arcade-bot ./tools/netlab
	./bin/netlab

vet: ## go vet
	$(GO) vet $(PKGS)

bench: ## benchmarks with allocations, then the loopback load and grab measurements
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=$(BENCHTIME) $(PKGS)
	./tools/loadtest.sh
	./tools/grabbench.sh

load: ## loopback load measurement only: server + 16 bots, multicast and unicast
	./tools/loadtest.sh

grabbench: ## eager vs tick-only grab latency with 16 grabbing bots
	./tools/grabbench.sh

.PHONY: physicsbench
physicsbench: ## the server's physics stage: a 1000-object scene (420 resting, 580 moving, about 500 awake), 16 headsets on lo (RESTING, MOVING, DURATION)
	./tools/physicsbench.sh

.PHONY: latency
latency: ## Arcade's latency beside this box's own limits (UDP echo, timerfd loop, time.Ticker): 16/64 headsets × eager/tick on lo, as ratios
	$(GO) run ./tools/latency --duration $(or $(DURATION),10s)

.PHONY: bandwidth
bandwidth: ## multicast state stream size: 901 cubes, 2000 players, the demo arcade × 60/120 Hz × encoders × 0/5 % loss, beside Fiedler's figures
	$(GO) run ./tools/bandwidth $(if $(JSON),--json $(JSON))

.PHONY: soak
soak: ## hostile-input soak: server + 8 bots 10 s alone, then 10 s beside a 50k datagrams/s flood and forged group state, then 64 sessions pinning fragments; then sealed (5 s): sealed junk from a victim's socket, an insider's forged group datagrams
	$(GO) build -o bin/ ./cmd/arcade-server ./tools/arcade-bot
	$(GO) run ./tools/soak --server-bin bin/arcade-server --bot-bin bin/arcade-bot
	$(GO) run ./tools/soak --server-bin bin/arcade-server --bot-bin bin/arcade-bot --sealed --duration 5s

fuzz: ## run every fuzz target for FUZZTIME each (default 10s)
	./tools/fuzz.sh $(or $(FUZZTIME),10s)

check: vet ## formatting, vet, staticcheck, and a short benchmark smoke run
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS)
	$(GO) test -run='^$$' -bench=. -benchtime=100x $(PKGS) > /dev/null

.PHONY: load-ramp
load-ramp: ## ramp headsets against a loopback server step by step and name the knee (RAMP=0:512:64 STEP=5s; table, bin/load-ramp.json, bin/load-ramp.svg)
	@mkdir -p bin
	$(GO) run ./tools/arcade-load --ramp $(or $(RAMP),0:512:64) --step $(or $(STEP),5s) --json bin/load-ramp.json --svg bin/load-ramp.svg $(LOADFLAGS)

.PHONY: load-2000
# The generator at nice 0: the server's one hot thread (tick and socket)
# is SCHED_FIFO when permitted, so a niced generator yields only to other
# work on a shared box, and its starvation would be measured as Arcade's.
load-2000: ## the cost of 2000 players: ramp 0 → 2000 headsets by 100 (in-process generator) against a loopback server; table, bin/load-2000.json, bin/load-2000.svg, the knee named (STEP=8s)
	@mkdir -p bin
	$(GO) run ./tools/arcade-load --ramp 0:2000:100 --step $(or $(STEP),8s) --past-knee -1 --nice 0 --json bin/load-2000.json --svg bin/load-2000.svg $(LOADFLAGS)
