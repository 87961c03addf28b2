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

test: setup
	FASTSTYLE_VGG_WEIGHTS=$${FASTSTYLE_VGG_WEIGHTS:-$(SHARED)/weights/vgg16_imagenet_features.pth} \
		$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: setup
	$(BIN)/python bench/run.py
