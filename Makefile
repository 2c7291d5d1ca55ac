# PolicyQA: `make run` (install + index the bundled reports + ask + chat page), `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
INDEX  ?= index/default
PORT   ?= 7860
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test install system-deps llm-server index ask serve unit e2e lint eval eval-real bench bench-index imports clean

run: install index
	$(BIN)/policyqa ask "2024年检查了多少家企业？" --index $(INDEX)
	$(BIN)/policyqa serve --index $(INDEX) --port $(PORT)

# The dev eval runs over the sample report alone: the dev gold set asks about it, and its figures
# stay comparable however many reports data/reports bundles.
test: install system-deps llm-server
	$(BIN)/ruff check rag ui evals benchmarks tests tools cli.py prompts conftest.py
	$(BIN)/pytest -q
	$(BIN)/policyqa eval --gold evals/gold/seed-dev.jsonl --docs data/reports/suzhou-kjj-2024-fzzf.txt --out evals/out/dev --system both --thresholds evals/thresholds.json

install: $(VENV)/.installed

# torch first, pinned: the CPU build on this machine's disk (an unpinned torch pulls CUDA).
$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	$(BIN)/policyqa setup
	touch $@

# System packages the tests need: a CJK font (PDF fixtures), Chromium (browser test), nginx (proxy test),
# a C++ compiler (llama.cpp's server is built from source once, see llm-server).
system-deps:
	@if [ ! -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || [ ! -x /usr/bin/chromium ] || [ ! -x /usr/sbin/nginx ] \
		|| ! command -v g++ >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei chromium nginx g++ >/dev/null; \
	fi

# llama.cpp's server and a tiny real model for the LLM-mode e2e test. The wheel is built from source
# once (~6-11 min on 2 cores) into WHEELS, outside the checkout, so later runs on this machine reuse it.
WHEELS ?= $(HOME)/.cache/policyqa/wheels
LLAMA  := llama_cpp_python-0.3.36
llm-server: install system-deps
	@ls $(WHEELS)/$(LLAMA)-*.whl >/dev/null 2>&1 || \
		CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/pip wheel -q --no-deps "llama-cpp-python==0.3.36" -w $(WHEELS)
	$(BIN)/pip install -q --no-deps --find-links $(WHEELS) -r requirements-llm.lock

index: install
	$(BIN)/policyqa index data/reports --index $(INDEX)

ask: install
	$(BIN)/policyqa ask "$(Q)" --index $(INDEX)

serve: install
	$(BIN)/policyqa serve --index $(INDEX) --port $(PORT)

unit: install
	$(BIN)/pytest -q -m "not slow"

lint: install
	$(BIN)/ruff check rag ui evals benchmarks tests tools cli.py prompts conftest.py

eval: install
	$(BIN)/policyqa eval --gold evals/gold/seed-dev.jsonl --docs data/reports/suzhou-kjj-2024-fzzf.txt --out evals/out/dev

# The real development corpus (106 reports) beside the sample: a portal. The index is kept in
# index/portal and updated incrementally (the first build embeds 8.5k chunks, ~6 min here).
eval-real: install
	$(BIN)/policyqa index evals/real/corpus data/reports/suzhou-kjj-2024-fzzf.txt --index index/portal
	$(BIN)/policyqa eval --gold evals/gold/real-dev.jsonl --index index/portal --out evals/out/real --system both
	$(BIN)/policyqa eval --gold evals/gold/seed-dev.jsonl --index index/portal --out evals/out/dev-portal

bench: install
	$(BIN)/python -m benchmarks.run

# The whole real development corpus indexed cold: ours (fp32, int8) vs the LangChain baseline (~20 min).
bench-index: install
	$(BIN)/python -m benchmarks.indexing

# The import graph, module by module (tests/unit/tools checks it for cycles in CI).
imports: install
	$(BIN)/python tools/imports.py

clean:
	rm -rf $(VENV) index/default evals/out
