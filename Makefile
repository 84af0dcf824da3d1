# emoshift: two commands do all set-up on a fresh Debian 12 / Python 3.11 machine:
#   make demo   -> creates .venv, installs everything, runs the pipeline on built-in media
#   make test   -> same set-up, runs the test suite
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.emoshift-installed
TORCH_WHEEL ?= torch==2.13.0
export PIP_CONSTRAINT := $(CURDIR)/requirements/constraints.txt
export HF_HUB_OFFLINE := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1
DEMO_OUT ?= demo-output
PYTEST_ARGS ?=

.PHONY: env sysdeps demo test bench lint format llm clean help

help:
	@echo "make demo   set up everything and run emoshift on built-in media (result in $(DEMO_OUT)/)"
	@echo "make test   set up everything and run the test suite"
	@echo "make bench  run the benchmarks (needs ../shared/media)"
	@echo "make lint   ruff"
	@echo "make llm    optional: build llama-cpp-python (~10 min) and assemble the Qwen 1.5B rewriter"

env: sysdeps $(STAMP)

# System programs: espeak-ng (phonemiser for Kokoro, formant voice), ffmpeg (benchmark baseline).
sysdeps:
	@missing=""; \
	command -v espeak-ng >/dev/null || missing="$$missing espeak-ng"; \
	command -v ffmpeg >/dev/null || missing="$$missing ffmpeg"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml requirements/constraints.txt requirements/base.txt requirements/nodeps.txt requirements/dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip wheel "setuptools<81"
	$(PIP) install -q $(TORCH_WHEEL)
	$(PIP) install -q --no-deps -r requirements/nodeps.txt
	$(PIP) install -q -r requirements/base.txt -r requirements/dev.txt
	$(PIP) install -q --no-deps --no-build-isolation -e .
	$(PY) -m emoshift.assets
	@touch $(STAMP)

demo: env
	$(PY) scripts/demo.py --out $(DEMO_OUT)

test: env
	$(PY) -m pytest $(PYTEST_ARGS)

bench: env
	$(PY) benchmarks/run_all.py

lint: env
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/ruff format --check src tests benchmarks scripts

format: env
	$(VENV)/bin/ruff format src tests benchmarks scripts
	$(VENV)/bin/ruff check --fix src tests benchmarks scripts

# llama.cpp's default build (-march=native) takes in Intel AMX where the CPU reports it, and
# that path crashed (SIGSEGV in the first decode) on this project's AMX-capable 2-core VMs.
# Build for AVX2 instead: any x86-64 CPU from about 2015 on, and the same speed here.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
LLAMA_STAMP := $(VENV)/.llama-cpp-avx2

llm: env $(LLAMA_STAMP)
	$(PIP) install -r requirements/llm.txt
	$(PY) -m emoshift.speech.llm_assets

$(LLAMA_STAMP):
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) install --no-cache-dir --force-reinstall --no-deps \
		$$(grep '^llama-cpp-python' requirements/llm.txt)
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info src/*.egg-info $(DEMO_OUT)
