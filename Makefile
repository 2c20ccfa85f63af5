# citylink — the two commands that matter: `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
LAMBDAS := $(notdir $(wildcard cmd/telemetry-* cmd/arcgis-import cmd/billing-export cmd/alarm-311 cmd/gis-push cmd/gis-pull))
STANDINS := internal/localaws/node_modules/.package-lock.json

.PHONY: run test build bench lint deps sim clean

## run: start the whole system on this machine (Postgres, simulated city, stand-ins, console).
run: deps
	$(GO) run ./cmd/citylink dev

## test: formatting and vet, then every test against real Postgres, simulators and AWS stand-ins.
test: deps lint
	$(GO) test -count=1 -timeout 25m ./...

## deps: the pinned npm stand-ins (kinesalite, dynalite), installed from their lockfile.
deps: $(STANDINS)

$(STANDINS): internal/localaws/package.json internal/localaws/package-lock.json
	npm ci --prefix internal/localaws --no-audit --no-fund
	@touch $@

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

## lint: gofmt, go vet and staticcheck must have nothing to report.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './internal/localaws/node_modules/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## build: one arm64 `bootstrap` per Lambda for provided.al2023, zipped in dist/.
build:
	@set -e; for f in $(LAMBDAS); do \
		mkdir -p dist/$$f; \
		CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -tags lambda.norpc -ldflags='-s -w' -o dist/$$f/bootstrap ./cmd/$$f; \
		(cd dist/$$f && rm -f ../$$f.zip && python3 -c "import zipfile,sys; z=zipfile.ZipFile('../$$f.zip','w',zipfile.ZIP_DEFLATED); z.write('bootstrap'); z.close()"); \
		echo "dist/$$f.zip"; \
	done
	$(GO) build -o bin/citylink ./cmd/citylink

## bench: every benchmark, figures for BENCHMARKS.md.
bench: deps
	$(GO) test -run '^$$' -bench . -timeout 30m ./...

## sim: the simulated city systems alone, on printed local ports.
sim:
	$(GO) run ./cmd/citylink sim

clean:
	rm -rf dist bin
