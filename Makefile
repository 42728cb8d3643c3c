# Two commands on a fresh machine:
#   make lab    set everything up and open the collection in JupyterLab (on 127.0.0.1)
#   make test   set everything up and run every unit test and every notebook (nbval, strict)
# Set-up is incremental: pip runs again only when requirements.txt or pyproject.toml change (the course)
# or requirements-test.txt does (the test tools, added on top by `make test`: never a rebuild from scratch).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
# nbval compares every stored output; these options keep each cell honest and quick.
NBVAL  := --nbval --nbval-current-env --nbval-sanitize-with notebooks/nbval-sanitize.cfg --nbval-cell-timeout=60

.PHONY: setup test-setup lab lab-teacher grade-setup test test-newer notebooks student html bench load images clean

# The course is installed editable, so its bytecode is written on first import, unless the machine
# switches that off (PYTHONDONTWRITEBYTECODE, as some CI images do) and every kernel compiles mtlslib
# again: compile what changed, once, here.
COMPILE := $(BIN)/python -m compileall -q mtlslib

setup: $(STAMP)
	@$(BIN)/python -m mtlslib.course.environment --ensure-dot
	@$(COMPILE)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; this $(PYTHON) is " + sys.version.split()[0] + ". Run: make PYTHON=python3.11 ...")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $(STAMP)

# The test and benchmark tools (pytest, nbval, Playwright, nbgrader, ...), on top of the course.
test-setup: $(TEST_STAMP)
	@$(BIN)/python -m mtlslib.course.environment --ensure-dot
	@$(COMPILE)

# nbgrader switches on its JupyterLab menus and server extensions wherever it is installed; the course's
# JupyterLab (students', the browser tests) runs without them, and nbgrader's commands need none of them.
NBGRADER_SERVER := $(addprefix nbgrader.server_extensions.,formgrader assignment_list course_list validate_assignment)
$(TEST_STAMP): $(STAMP) requirements-test.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
	@$(BIN)/jupyter labextension disable --level=sys_prefix @jupyter/nbgrader >/dev/null 2>&1
	@$(BIN)/jupyter server extension disable --sys-prefix $(NBGRADER_SERVER) >/dev/null 2>&1
	@touch $(TEST_STAMP)

# Jupyter refuses to run as root unless told; containers and CI machines often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root)

# Students: their own copy of the course in student/ (solutions and answers removed). Chapters already
# there are their work and are never overwritten; only missing ones are added.
lab: student
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 $(ROOT_FLAG) --ServerApp.root_dir=student \
		--LabApp.default_url=/lab/tree/00_start_here.ipynb

# Teachers: the full edition (solutions, executed answers, answers to every question). Its stored outputs
# are the course's own, so they are trusted first: JupyterLab then shows their SVG charts and diagrams
# before any cell runs again (an untrusted notebook shows only their text). The files are not changed.
lab-teacher: setup
	$(BIN)/jupyter trust notebooks/[0-9][0-9]_*.ipynb >/dev/null
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 $(ROOT_FLAG) notebooks/00_start_here.ipynb

# Teachers grading with nbgrader: a course directory in grading/ (not committed), one assignment per
# chapter with exercises. Run nbgrader there with .venv/bin on PATH (it runs the `alembic` program).
grade-setup: test-setup
	$(BIN)/python -m mtlslib.course.grading notebooks grading

test: test-setup
	@$(BIN)/python -m mtlslib.course.environment --ensure-browser
	@$(BIN)/python -m mtlslib.course.environment --ensure-tshark
	$(BIN)/python -m pytest tests notebooks $(NBVAL) --timeout=120

# The same suite with another interpreter, e.g. a Python 3.13 linked to OpenSSL 3.5, to see what a student
# on a newer build meets: make test-newer NEWER_PYTHON=/path/to/venv/bin/python. That interpreter needs the
# packages of requirements-test.txt (its own venv, whose nbgrader JupyterLab extensions are switched off as
# test-setup does here); this checkout is put on its path, and the browser tests run only where Chromium is.
# Skipped, with a note, when NEWER_PYTHON is not there.
NEWER_PYTHON ?= python3.13
test-newer:
	@if ! command -v $(NEWER_PYTHON) >/dev/null 2>&1; then \
		echo "skipped: no $(NEWER_PYTHON); give NEWER_PYTHON=... (an interpreter with requirements-test.txt installed)"; \
	else \
		$(NEWER_PYTHON) -c 'import ssl, sys; print("the suite on Python", sys.version.split()[0], "with", ssl.OPENSSL_VERSION)' && \
		{ $(NEWER_PYTHON) -m jupyter labextension disable --level=sys_prefix @jupyter/nbgrader >/dev/null 2>&1; \
		  $(NEWER_PYTHON) -m jupyter server extension disable --sys-prefix $(NBGRADER_SERVER) >/dev/null 2>&1; true; } && \
		PYTHONPATH=$(CURDIR) $(NEWER_PYTHON) -m pytest tests notebooks $(NBVAL) --timeout=120; \
	fi

images: setup
	$(BIN)/python -m mtlslib.course.images images

# After changing mtlslib or a notebook: re-run every chapter top to bottom and store its outputs.
notebooks: setup
	cd notebooks && ../$(BIN)/jupyter nbconvert --log-level=WARN --to notebook --execute --inplace \
		--ExecutePreprocessor.extra_arguments='["--log-level=ERROR"]' [0-9][0-9]_*.ipynb

# The student edition: solutions, outputs and teachers' answers removed, written to student/ (not
# committed). Creates missing chapters only: a student's work is never overwritten.
student: setup
	$(BIN)/python -m mtlslib.course.student notebooks student

# The offline reading edition, from the committed outputs: open build/html/index.html.
html: setup
	$(BIN)/python -m mtlslib.course.reading notebooks build/html

bench: test-setup
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/notebooks.py

# The HTTPS service under load: 200 mutual-TLS clients beside slow and garbage-sending ones.
load: setup
	$(BIN)/python benchmarks/load.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
	find mtlslib tests benchmarks -name __pycache__ -type d -prune -exec rm -rf {} +
	@test ! -d student || echo "kept student/: it holds students' work (delete it yourself if you mean to)"
