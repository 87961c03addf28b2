# Two jobs, each setting everything up first (a virtual environment in .venv):
#   make demo   stylize the shipped photo with the shipped model -> out/chicago_starry_night.jpg
#   make test   lint, type-check and run the test suite (offline; VGG weights and photos from ../shared)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SHARED ?= ../shared
WEB := src/faststyle/web

.PHONY: setup demo test test-quick lint bench web-setup other-runtimes report screenshot
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@echo "setup: creating $(VENV) and installing faststyle with its test tools (pip: torch, lightning, onnxruntime, ...)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

demo: setup
	$(BIN)/stylize assets/chicago.jpg -o out/ --overwrite

lint: setup
	$(BIN)/ruff check src tests bench train.py
	$(BIN)/ruff format --check src tests bench train.py
	$(BIN)/mypy

test: setup web-setup other-runtimes lint
	FASTSTYLE_VGG_WEIGHTS=$${FASTSTYLE_VGG_WEIGHTS:-$(abspath $(SHARED))/weights/vgg16_imagenet_features.pth} \
		$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# While developing: everything but the tests marked slow.
test-quick:
	$(MAKE) test PYTEST_ARGS="-m 'not slow' $(PYTEST_ARGS)"

# The browser tests need onnxruntime-web from npm and Debian's Chromium; both steps are
# skipped when already done, and each says what it installs first.
web-setup: $(WEB)/node_modules/.installed
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "web-setup: installing Debian's chromium and chromium-driver for the browser tests (apt-get)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
		else echo "note: no /usr/bin/chromium + chromedriver and not root to install them: the browser tests skip (they fail under CI)"; fi; \
	fi

$(WEB)/node_modules/.installed: $(WEB)/package.json $(WEB)/package-lock.json
	@echo "web-setup: installing onnxruntime-web for the page (npm ci in $(WEB))"
	npm ci --prefix $(WEB) --no-audit --no-fund --loglevel=error
	touch $@

# OpenCV 4.x and 5.x cannot share one environment: each goes into a folder of its own, which
# tests/test_other_runtimes.py puts on PYTHONPATH in a subprocess (OpenVINO is in the test extra).
OPENCV_VERSIONS := 4.14.0.94 5.0.0.93
other-runtimes: $(foreach v,$(OPENCV_VERSIONS),$(VENV)/opencv/$(v)/.installed) $(VENV)/triton/.installed

$(VENV)/opencv/%/.installed: | setup
	@echo "other-runtimes: installing opencv-python-headless==$* into $(VENV)/opencv/$* (pip)"
	$(BIN)/python -m pip install -q --no-deps --target $(VENV)/opencv/$* opencv-python-headless==$*
	touch $@

bench: setup
	$(BIN)/python -m pip install -q -e ".[bench]"
	$(BIN)/python bench/run.py

# A real Triton Inference Server for tests/test_triton.py: the nvidia-pytriton wheel carries a
# tritonserver binary with its Python backend (no ONNX Runtime backend). The backend's stub for
# this Python goes where the server looks for it.
PYTRITON_VERSION := 0.7.0
$(VENV)/triton/.installed: | setup
	@echo "other-runtimes: installing nvidia-pytriton==$(PYTRITON_VERSION) (its tritonserver) into $(VENV)/triton (pip)"
	$(BIN)/python -m pip install -q --no-deps --target $(VENV)/triton nvidia-pytriton==$(PYTRITON_VERSION)
	cp $(VENV)/triton/pytriton/tritonserver/python_backend_stubs/$$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')/triton_python_backend_stub \
		$(VENV)/triton/pytriton/tritonserver/backends/python/
	touch $@

# docs/ and the README's tables again from the records in bench/results (measures nothing)
report: setup
	$(BIN)/python bench/report.py

# docs/web_page.png: the page with the bundled models, as tests/test_web.py sees it
screenshot: setup web-setup
	FASTSTYLE_WEB_SCREENSHOT=$(abspath docs/web_page.png) $(BIN)/python -m pytest -q tests/test_web.py -k docs_screenshot
