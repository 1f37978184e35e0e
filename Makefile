# The two commands: `make run` (demo on embedded SQLite) and `make test` (whole suite).
PORT ?= 8000
export PORT

.PHONY: run test install lint bench openapi-client

run:
	@bash scripts/bootstrap.sh
	@if [ -f frontend/package.json ]; then bash scripts/frontend.sh build; fi
	@bash scripts/run.sh

test:
	@bash scripts/test.sh

install:
	@bash scripts/bootstrap.sh

lint:
	@.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy

# The web client's API types from the app's OpenAPI (docs/frontend.md, Typed API client).
openapi-client:
	@bash scripts/frontend.sh openapi
