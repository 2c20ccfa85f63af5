# citylink — the two commands that matter: `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
# Every directory of cmd/ but the operator's CLI is a Lambda.
LAMBDAS := $(filter-out citylink,$(notdir $(patsubst %/,%,$(wildcard cmd/*/))))
STANDINS := internal/localaws/node_modules/.package-lock.json
SPEC := internal/deploy/node_modules/.package-lock.json
# One stripped static arm64 binary, as provided.al2023 runs it.
LAMBDA_BUILD := CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -tags lambda.norpc -ldflags='-s -w'

.PHONY: run test build bench lint deps sim clean

## run: build bin/citylink and start the whole system on this machine (Postgres, simulated city,
## stand-ins, console); ctrl-c stops it cleanly. Flags go in ARGS: make run ARGS='--addr 127.0.0.1:9090'.
run: deps
	$(GO) build -o bin/citylink ./cmd/citylink
	./bin/citylink dev $(ARGS)

## test: formatting and vet, then every test against real Postgres, simulators and AWS stand-ins.
test: deps lint
	$(GO) test -count=1 -timeout 25m ./...

## deps: the pinned npm packages, from their lockfiles: the stand-ins (kinesalite, dynalite)
## and AWS's resource specification the template tests check against.
deps: $(STANDINS) $(SPEC)

$(STANDINS): internal/localaws/package.json internal/localaws/package-lock.json
	npm ci --prefix internal/localaws --no-audit --no-fund
	@touch $@

$(SPEC): internal/deploy/package.json internal/deploy/package-lock.json
	npm ci --prefix internal/deploy --no-audit --no-fund
	@touch $@

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

## lint: gofmt, go vet and staticcheck must have nothing to report.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './internal/localaws/node_modules/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## build: one stripped arm64 `bootstrap` per Lambda for provided.al2023, zipped in dist/, sizes printed.
build:
	@set -e; for f in $(LAMBDAS); do \
		mkdir -p dist/$$f; \
		$(LAMBDA_BUILD) -o dist/$$f/bootstrap ./cmd/$$f; \
		rm -f dist/$$f.zip; \
		python3 -c "import zipfile,sys; z=zipfile.ZipFile(sys.argv[1],'w',zipfile.ZIP_DEFLATED); z.write(sys.argv[2],'bootstrap'); z.close()" dist/$$f.zip dist/$$f/bootstrap; \
		printf '%-22s bootstrap %6d KiB  zip %6d KiB  dist/%s.zip\n' $$f $$(( $$(stat -c %s dist/$$f/bootstrap) / 1024 )) $$(( $$(stat -c %s dist/$$f.zip) / 1024 )) $$f; \
	done
	$(GO) build -o bin/citylink ./cmd/citylink

## build-<Id>Function: what `sam build` runs for each function of template.yaml
## (Metadata BuildMethod: makefile), <Id> being the cmd/ directory in CamelCase:
## build-TelemetryStoreFunction builds cmd/telemetry-store into $(ARTIFACTS_DIR).
build-%Function:
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set (sam build sets it)"; exit 1; }
	@cmd=$$(echo '$*' | sed -E 's/([a-z0-9])([A-Z])/\1-\2/g; s/([A-Za-z])([0-9])/\1-\2/g' | tr A-Z a-z); \
	test -d cmd/$$cmd || { echo "$* names no cmd/$$cmd"; exit 1; }; \
	echo $(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./cmd/$$cmd; \
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./cmd/$$cmd

## bench: every benchmark, figures for BENCHMARKS.md.
bench: deps
	$(GO) test -run '^$$' -bench . -timeout 30m ./...

## sim: the simulated city systems alone, on printed local ports.
sim:
	$(GO) run ./cmd/citylink sim

clean:
	rm -rf dist bin
