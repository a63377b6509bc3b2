# The two commands of the README: `make run` and `make test`. Only Python 3.11+ is needed.
PYTHON ?= python3
VENV := .venv
PORT ?= 8000
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test install lint migrate demo messages

# The demo runs in debug (a development key, local hosts); DJANGO_DEBUG defaults to off for
# servers. The tests turn it on themselves (tests/settings.py).
migrate demo run: export DJANGO_DEBUG ?= on

$(INSTALLED): requirements.txt requirements-dev.txt build-constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "pip==26.3"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		--build-constraint build-constraints.txt -r requirements-dev.txt
	touch $@

install: $(INSTALLED)

migrate: install
	mkdir -p var
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py seed_demo

run: demo
	@echo ""
	@echo "  IOP clinic demo on http://127.0.0.1:$(PORT)/"
	@echo "  Logins (password demo-pass-2026):"
	@echo "    staff      -> http://127.0.0.1:$(PORT)/admin/"
	@echo "    therapist  -> http://127.0.0.1:$(PORT)/therapist/"
	@echo "    client     -> http://127.0.0.1:$(PORT)/schedule/"
	@echo "    cliente    -> http://127.0.0.1:$(PORT)/schedule/  (a client who reads Spanish)"
	@echo "  Reminders: emails in var/outbox/, text messages in var/outbox/sms.log"
	@echo "  Ctrl-C stops the web server, the worker and its scheduler."
	@echo ""
	@mkdir -p var/outbox var/celery-broker/queue var/celery-broker/processed
	@trap 'kill 0' INT TERM; \
	$(BIN)/celery -A iop worker -B --loglevel=INFO --concurrency=2 & \
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT); \
	kill 0

test: install
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

# After changing a client-facing text: collect the texts into locale/es/LC_MESSAGES/django.po,
# translate the new or changed entries there, and compile the .mo that is committed beside it
# (tests/test_translations.py fails while one is untranslated or the .mo is stale).
messages: install
	$(BIN)/python manage.py makemessages -l es --no-location --no-obsolete \
		-i ".venv/*" -i "var/*" -i "tests/*" -i "bench/*" -i "deploy/*"
	@echo "Translate the empty or fuzzy entries in locale/es/LC_MESSAGES/django.po, then run: make compile-messages"

compile-messages: install
	$(BIN)/python manage.py compilemessages -l es --ignore ".venv"
