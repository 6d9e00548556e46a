# Quorate: the one entry point for building, testing and benchmarking.
GO      ?= go
BIN     := bin/quorate
PKGS    := ./...
FUZZTIME ?= 10s

.PHONY: bench-side-by-side all build demo test test-short test-loaded bench pgo soak swarm-guided study lab-fidelity lint fuzz setup clean image

# Every go test has an explicit -timeout. ./sim alone takes about 200 s on
# an idle 2-core machine and several times that on a busy one; TEST_TIMEOUT
# leaves room for both within CI's 90 minutes. GOTESTFLAGS adds flags to the
# suite's go test runs (test-loaded passes -cpu=1).
TEST_TIMEOUT ?= 45m
GOTESTFLAGS  ?=

# PGO is the profile the quorate binary is built with (scripts/pgo.sh,
# make pgo): go build applies cmd/quorate/default.pgo to that main package
# by default, and make bench applies it to the benchmarks, so that their
# figures are the binary's. The tests are built without it (TESTENV, also
# for the binaries tests build themselves): a profile changes no result,
# and compiling every package a second time with it would only lengthen
# the suite on a cold build cache.
PGO     := $(CURDIR)/cmd/quorate/default.pgo
TESTENV := GOFLAGS="$(strip $(GOFLAGS) -pgo=off)"

all: build

# setup installs what the tests need beyond Go (iproute2, chromium: see
# scripts/setup.sh) and downloads the Go modules.
setup:
	sh scripts/setup.sh
	$(GO) mod download

# build stamps the commit (COMMIT, below) into `quorate --version` also
# where the toolchain records no VCS information (GOFLAGS=-buildvcs=false,
# git worktrees), and builds the daemon binary quorate-agent beside quorate:
# `quorate agent` runs it when both come from one clean build
# (docs/ops.md, "The daemon binary").
build:
	$(GO) build -ldflags "-X main.commit=$(COMMIT)" -o $(BIN) ./cmd/quorate
	$(GO) build -ldflags "-X main.commit=$(COMMIT)" -o $(BIN)-agent ./cmd/quorate-agent

# image: the container image of the static quorate binary and the scenario
# library (no base image), as an OCI layout archive out/image/quorate.oci.tar
# built by deploy/image without a container engine; when a Docker daemon
# answers, also as out/image/quorate.docker.tar, loaded into it as
# quorate:$(IMAGE_TAG). IMAGE_PUSH=registry/quorate:tag also pushes it
# (credentials of docker login). See docs/ops.md.
IMAGE_ARCH ?= $(shell $(GO) env GOARCH)
COMMIT     ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD -- 2>/dev/null || echo -dirty)
IMAGE_TAG  ?= latest
IMAGE_PUSH ?=

IMAGE_DOCKER = $(shell command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 && echo yes)

image:
	CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_ARCH) $(GO) build -trimpath -ldflags "-s -w -X main.commit=$(COMMIT)" \
		-o bin/quorate-linux-$(IMAGE_ARCH) ./cmd/quorate
	mkdir -p out/image
	$(GO) run ./deploy/image --binary bin/quorate-linux-$(IMAGE_ARCH) --arch $(IMAGE_ARCH) --scenarios scenarios \
		--commit $(COMMIT) --created $$(git log -1 --format=%ct 2>/dev/null || echo 0) --tag $(IMAGE_TAG) \
		--out out/image/quorate.oci.tar $(if $(IMAGE_DOCKER),--docker-out out/image/quorate.docker.tar) \
		$(if $(IMAGE_PUSH),--push $(IMAGE_PUSH))
ifeq ($(IMAGE_DOCKER),yes)
	docker load -i out/image/quorate.docker.tar
else
	@echo "image: no Docker daemon answers; out/image/quorate.oci.tar is the image (podman load -i, skopeo copy oci-archive:, umoci)"
endif

# demo: build, then run a bundled scenario and replay its trace.
demo: build
	$(BIN) run scenarios/examples/switch-failure.yaml --out out/demo
	$(BIN) replay out/demo/trace.jsonl

test: setup
	$(GO) vet $(PKGS)
	$(TESTENV) $(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(GOTESTFLAGS) $(PKGS)
	# The canary: a deliberately broken engine that the checkers must catch.
	$(TESTENV) $(GO) test -count=1 -timeout 20m $(GOTESTFLAGS) -tags quorate_canary -run Canary ./sim/

test-short:
	$(TESTENV) $(GO) test -short -count=1 -timeout 20m $(PKGS)

# test-loaded: make test with the Go scheduler on one thread (GOMAXPROCS=1,
# -cpu=1) while one busy loop per core competes for the CPU
# (scripts/loaded.sh). No test may depend on an idle machine.
test-loaded:
	sh scripts/loaded.sh env GOMAXPROCS=1 $(MAKE) test GOTESTFLAGS=-cpu=1

# bench: the benchmarks whose figures go into docs/benchmarks.md.
bench: build
	$(GO) test -pgo=$(PGO) -run '^$$' -bench . -benchmem -count=1 -timeout 120m ./sim/ ./netmodel/... ./engine/... ./agent/ ./sweep/
	$(MAKE) bench-side-by-side

# pgo: profile the simulator's benchmark loads again and merge them into
# cmd/quorate/default.pgo (about a minute once the tests are built;
# scripts/pgo.sh). Run it when the hot paths have changed, and record the
# gain in docs/benchmarks.md.
pgo:
	GO=$(GO) sh scripts/pgo.sh

# bench-side-by-side: Corosync 3 and quorate agents on the same three
# network namespaces, bridges and corosync.conf files in one invocation,
# one table of agreed msgs/s, latency and RSS (docs/benchmarks.md). Needs
# root (skips otherwise); waits for the reference harness's lock.
bench-side-by-side: build
	QUORATE=$(BIN) bash scripts/bench/side-by-side.sh

# study: the latency study of docs/latency-study.md (four sweeps, about
# 15 CPU minutes; SEEDS, PARALLEL and OUT as in scripts/latency-study.sh).
study: build
	QUORATE=$(BIN) sh scripts/latency-study.sh

# lab-fidelity: every library scenario the lab supports on real agents
# beside the simulator, and the smoke scenario beside the Corosync
# reference: the tables of docs/fidelity.md's lab section (needs root;
# about twenty minutes of wall-clock time).
lab-fidelity: build
	QUORATE=$(BIN) sh scripts/lab-fidelity.sh

# soak: long seed sweeps, kept out of `make test`. First the swarm:
# SOAK_SEEDS of every family (1-11112: 100,008 runs) on SOAK_PARALLEL
# workers (one per core), every failure shrunk into out/soak/regress/
# (docs/reliability.md has the figures and how long it takes); then the
# other soak tests.
SOAK_SEEDS    ?= 1-11112
SOAK_PARALLEL ?= $(shell nproc 2>/dev/null || echo 2)
# SOAK_FLAGS=--guided weights the draws toward the cells not reached yet.
SOAK_FLAGS    ?=
soak: build
	$(BIN) swarm $(SOAK_FLAGS) --seeds $(SOAK_SEEDS) --parallel $(SOAK_PARALLEL) --out out/soak
	QUORATE_SOAK=1 $(TESTENV) $(GO) test -count=1 -timeout 60m -run 'TestSoak(Liveness|FidelityLoss)' ./...

# swarm-guided: the plain and the guided swarm over the same seeds, and
# the coverage cells each reached (docs/reliability.md, "Guided swarm").
swarm-guided: build
	QUORATE=$(BIN) sh scripts/swarm-guided.sh

STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run $(STATICCHECK) $(PKGS)
	$(GO) test -count=1 -timeout 10m -run Purity ./engine/

# fuzz: a short run of every fuzz target over untrusted bytes; what a run
# finds lands in the package's testdata/fuzz/ and then runs in make test.
FUZZ_TARGETS = \
	./engine/wire:FuzzDecodeFrame ./engine/links:FuzzReceive ./engine/links:FuzzReassemble ./engine:FuzzDecodeSyncMessage \
	./engine/totem:FuzzDecode ./engine/totem:FuzzStep \
	./engine/quorum:FuzzDecode ./engine/store:FuzzDecode ./engine/store:FuzzDecodeSnapshot \
	./netmodel/udp:FuzzOpen ./scenarios:FuzzParse ./scenarios/corosyncconf:FuzzParse \
	./qnetd:FuzzReadFrame \
	./agent:FuzzJoinDecode ./scenarios/corolog:FuzzParse ./engine/clusterlog:FuzzDecodeEntry \
	./scenarios/journal:FuzzParse

fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$pkg $$fn"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) -timeout 20m $$pkg || exit 1; \
	done

clean:
	rm -rf bin out
