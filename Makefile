# Two jobs, each setting everything up first (a virtual environment in .venv):
#   make demo   stylize the shipped photo with the shipped model -> out/chicago_starry_night.jpg
#   make test   run the test suite (offline; uses ../shared for VGG weights and photos)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SHARED ?= ../shared

.PHONY: setup demo test bench
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

demo: setup
	$(BIN)/stylize assets/chicago.jpg -o out/ --overwrite

test: setup web-setup
	FASTSTYLE_VGG_WEIGHTS=$${FASTSTYLE_VGG_WEIGHTS:-$(abspath $(SHARED))/weights/vgg16_imagenet_features.pth} \
		$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# While developing: everything but the tests marked slow.
.PHONY: test-quick
test-quick:
	$(MAKE) test PYTEST_ARGS="-m 'not slow' $(PYTEST_ARGS)"

# The browser test (tests/test_web.py) needs onnxruntime-web from npm and Debian's Chromium;
# both steps are skipped when already done.
.PHONY: web-setup
web-setup: src/faststyle/web/node_modules/.installed
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
		else echo "note: no /usr/bin/chromium + chromedriver and not root to install them: the browser test skips (fails under CI)"; fi; \
	fi

src/faststyle/web/node_modules/.installed: src/faststyle/web/package.json src/faststyle/web/package-lock.json
	npm ci --prefix src/faststyle/web --no-audit --no-fund --loglevel=error
	touch $@

bench: setup
	$(BIN)/python bench/run.py
