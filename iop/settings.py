"""Settings for the IOP clinic application.

Every value that differs between a laptop demo and a clinic's server comes from the
environment, read strictly through ``iop.env``; ``.env.example`` lists the variables.
"""

import datetime
import hashlib
from pathlib import Path

import dj_database_url
import xstatic.pkg.bootstrap
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from iop.env import env_bool, env_int, env_int_list, env_list, env_phone, env_str, env_time_zone, env_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

# Off unless asked for: a server that forgets the variable must not run in debug with the
# development key. `make run` and the test settings (tests/settings.py) turn it on.
DEBUG = env_bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off. "
            "On a development copy, run manage.py with DJANGO_DEBUG=on (make run and the tests do)."
        )
    SECRET_KEY = "development-only-insecure-key-never-use-in-production"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])

INSTALLED_APPS = [
    "iop.apps.ClinicAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "iop.apps.IopConfig",
    "audit",
    "clients",
    "groups",
    "scheduling",
    "progress",
]

MIDDLEWARE = [
    # First: every frame of the request in one chunk of the interpreter's frame stack.
    "iop.middleware.OneStackChunkMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "iop.middleware.RejectNulBytesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside everything that reads the database (the session, the user, the audit context).
    "iop.middleware.RetryAfterLostConnectionMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "audit.middleware.AuditContextMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "iop.middleware.SignInStepsMiddleware",
    # After the user is known: a client's pages speak the client's language.
    "iop.middleware.ClientLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "iop.middleware.IdleLogoutMiddleware",
    "iop.middleware.NoStoreWhenSignedInMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: it turns a request that ran into the lockout into the "sign-in paused" page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "iop.urls"
WSGI_APPLICATION = "iop.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "iop.context_processors.clinic",
                "iop.context_processors.idle_timeout",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_url(
    "DATABASE_URL",
    default=f"sqlite:///{VAR_DIR / 'iop.sqlite3'}",
    schemes={"sqlite", "postgres", "postgresql", "pgsql"},
)
# Seconds a process keeps its database connection between requests and tasks (0: a new one each
# time). A kept connection that the server dropped (a restart, a failover) is noticed by a cheap
# check before its first use and replaced, so the request that follows the drop still succeeds.
try:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("DJANGO_CONN_MAX_AGE", default=60), conn_health_checks=True
        )
    }
except ValueError as error:
    raise ImproperlyConfigured(f"DATABASE_URL is malformed: {error}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {"timeout": 20}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication -------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# django-axes first: it refuses a locked-out account or address before any password is compared.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's, loading the therapist and client records with the user (iop/backends.py).
    "iop.backends.ModelBackend",
]

# --- Sign-in protection (README: "Signing in") ----------------------------------------------
# Wrong passwords, counted by django-axes on /accounts/login/, /admin/login/, the note-signing
# password and the old-password field (iop.passwords): after this many within the cool-off, the
# account (from anywhere) and the address (for any account) are paused until it has passed.
AXES_FAILURE_LIMIT = env_int("IOP_LOCKOUT_FAILURES", default=10, minimum=3)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("IOP_LOCKOUT_MINUTES", default=15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# Tries during a lockout do not prolong it: the owner is back after the cool-off, whoever keeps trying.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "iop.views.locked_out"
AXES_USERNAME_CALLABLE = "iop.passwords.username_for_lockout"
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "old_password", "new_password1", "new_password2", "otp_token"]
# Behind the reverse proxy the address is the one the proxies add to X-Forwarded-For; without the
# count every sign-in would seem to come from the proxy, and one lockout would pause everyone.
# One rule reads the address, for the lockout and the audit trail alike (audit.context.client_ip).
IOP_PROXY_COUNT = env_int("IOP_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "audit.context.client_ip"

# A second factor (TOTP, recovery codes): staff and therapists must use one when this is on;
# clients may turn it on from their page. The demo and the tests run with it off.
IOP_REQUIRE_2FA = env_bool("IOP_REQUIRE_2FA", default=not DEBUG)
# Password-reset mails per account and per address in an hour; more requests send nothing.
IOP_RESET_MAILS_PER_HOUR = env_int("IOP_RESET_MAILS_PER_HOUR", default=3, minimum=1)
PASSWORD_RESET_TIMEOUT = 60 * 60 * 2

# The throttle's counters live in the database (a table the iop migrations create), shared by
# every web process and rolled back with each test; no request waits on Redis for them.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "iop_cache",
    }
}

# --- Sessions: automatic logoff (HIPAA 45 CFR 164.312(a)(2)(iii)) ---------------------------
# Minutes without a request after which a login ends (iop.middleware.IdleLogoutMiddleware).
# Staff and therapists see many clients' records; a client sees only their own week.
IOP_IDLE_MINUTES_STAFF = env_int("IOP_IDLE_MINUTES_STAFF", default=15, minimum=2)
IOP_IDLE_MINUTES_CLIENT = env_int("IOP_IDLE_MINUTES_CLIENT", default=30, minimum=2)
# The page warns this long before the logoff, with a "Stay signed in" button.
IOP_IDLE_WARNING_SECONDS = 60
# A login ends when the browser closes: the session cookie has no expiry date.
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# --- Time and language ----------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
# The languages the client portal, reminders and calendar entries are translated into (locale/).
# A client who prefers another language reads English (iop/i18n.py); staff pages stay in
# LANGUAGE_CODE whatever a browser asks for.
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_time_zone("CLINIC_TIME_ZONE", default="America/Chicago")
USE_I18N = True
USE_TZ = True

# --- Static files: our own under static/, third-party assets from installed packages ---------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", xstatic.pkg.bootstrap.BASE_DIR),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "iop.storage.ManifestStaticFilesStorage"
    },
}

# --- Security when served for real -----------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    # The TLS-terminating proxy in front says which scheme the browser used (README: Production).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Plain http is redirected to https, except the load balancer's health check.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# Browsers remember to use https only (a year by default); never while debugging on a laptop.
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
# Joining the browsers' preload list is hard to undo and binds every subdomain of the clinic's
# domain: the clinic decides. While it is off, `check --deploy`'s reminder about it is silenced.
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# Content-Security-Policy (django-csp): the pages load scripts, styles and images from the app's
# own origin only; no inline script or style anywhere (the admin's included), no framing.
# img-src allows data: for images the server renders into the page (a QR code).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# --- The audit trail (audit/) ----------------------------------------------------------------
# The key of the trail's hash chain. Set it once and keep it: verify_audit checks every row with
# it. Unset, it is derived from DJANGO_SECRET_KEY, and changing that key breaks the old links.
AUDIT_CHAIN_KEY = env_str("AUDIT_CHAIN_KEY") or hashlib.sha256(f"audit-chain:{SECRET_KEY}".encode()).hexdigest()

# --- The clinic -----------------------------------------------------------------------------
# The discreet name used wherever the outside world can see it (reminders, calendar entries).
CLINIC_SHORT_NAME = env_str("CLINIC_SHORT_NAME", default="Riverside Health")
# The address of the sign-in site that password mails may give (https://portal.example.org).
# Empty: the mail says to open the clinic's sign-in page and gives only the path, so no host
# name that could give the care away leaves the clinic.
CLINIC_SITE_URL = env_str("CLINIC_SITE_URL", default="").rstrip("/")
if CLINIC_SITE_URL:
    env_url("CLINIC_SITE_URL", default="", schemes={"https", "http"})
# What authenticator apps show beside the code.
OTP_TOTP_ISSUER = CLINIC_SHORT_NAME
# The number reminders give where they say "call us" (empty: they say "call us" without one).
# The demo's is a fictional 555-01xx number.
CLINIC_PHONE = env_phone("CLINIC_PHONE", default="(312) 555-0142" if DEBUG else "")

# --- Progress measures ----------------------------------------------------------------------
# Whether the client's weekly check-in asks about cravings or urges (a program may not).
IOP_CHECK_IN_CRAVINGS = env_bool("IOP_CHECK_IN_CRAVINGS", default=True)
# Days between a client's PHQ-9 / GAD-7 after the one at admission.
IOP_MEASURE_INTERVAL_DAYS = env_int("IOP_MEASURE_INTERVAL_DAYS", default=14, minimum=1)
# Whether the portal shows the client the totals and severity bands of their questionnaires.
IOP_PORTAL_SHOWS_SCORES = env_bool("IOP_PORTAL_SHOWS_SCORES", default=True)
# Days after which a treatment plan's review is overdue (counted from its last review, or its start).
IOP_PLAN_REVIEW_DAYS = env_int("IOP_PLAN_REVIEW_DAYS", default=30, minimum=1)
# What a client who answers PHQ-9 item 9 above "Not at all" is shown at once, with CLINIC_PHONE.
# Never empty: a client in crisis is always given a line to call.
IOP_CRISIS_LINE = env_str("IOP_CRISIS_LINE", default="").strip() or "988 Suicide & Crisis Lifeline — call or text 988"
# The hours of services a week the level of care asks for (ASAM level 2.1: 9 or more for adults,
# 6 or more for adolescents): the progress pages flag the weeks below, by clients.LevelOfCare.
IOP_WEEKLY_MINIMUM_HOURS = {"adult_iop": 9, "adolescent_iop": 6}

# --- Preparation before the first group ------------------------------------------------------
# Whether a client joins a process group (or its waitlist) only once their orientation checklist
# is finished (clients.OrientationItem). Off by default: a program that asks for it turns it on.
IOP_ORIENTATION_BEFORE_PROCESS_GROUPS = env_bool("IOP_ORIENTATION_BEFORE_PROCESS_GROUPS", default=False)

# --- Celery ---------------------------------------------------------------------------------
# Without CELERY_BROKER_URL the broker is kombu's filesystem transport under var/, so the demo
# needs no external service. Production points CELERY_BROKER_URL at Redis.
CELERY_BROKER_URL = env_url(
    "CELERY_BROKER_URL",
    default="filesystem://",
    schemes={"redis", "rediss", "filesystem", "memory", "amqp", "pyamqp"},
)
CELERY_BROKER_DIR = VAR_DIR / "celery-broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    # Short socket timeouts: a web request that publishes while Redis is down must not hang.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
        "retry_on_timeout": False,
        "max_connections": 50,
        # Longer than any task may run, so an unacknowledged reminder is redelivered only when
        # its worker really died.
        "visibility_timeout": 3600,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Results are never read: the reminder row in the database is the truth.
CELERY_TASK_IGNORE_RESULT = True
# A message is acknowledged only after its task finished; a worker that dies mid-task leaves it
# for another worker (the task is idempotent: the row is claimed before anything is sent).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One message per worker process at a time: a worker that dies strands no queue of messages (the
# sweep would publish their rows again anyway, REMINDER_REQUEUE_AFTER_SECONDS later).
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# No task has a rate limit: the worker need not look for one before each task.
CELERY_WORKER_DISABLE_RATE_LIMITS = True
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
# Publishing after a web request's commit, and /healthz, wait at most this long for the broker and
# never retry (iop.celery.quick_broker_connection): a broker that is down or hung costs a request
# well under a second. The rows stay pending and the next sweep publishes them.
IOP_BROKER_TIMEOUT_MS = env_int("IOP_BROKER_TIMEOUT_MS", default=500, minimum=50)
# The worker's and the scheduler's own connections wait longer.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker or scheduler that lost the broker keeps trying to reconnect (at most every 30 s) for as
# long as it takes, instead of exiting after 100 tries; a supervisor restarts it if it exits all
# the same (README: "Running it in production").
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.3, "interval_max": 0.5}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Celery's Django fixup closes the database connection around every task unless told to reuse
# it; reconnecting to PostgreSQL for each reminder cost more than sending it. Connections that
# broke or aged past CONN_MAX_AGE are still dropped before each task (iop/celery.py).
CELERY_DB_REUSE_MAX = 500
# The reminder sweep plans rows and publishes the due ones (and those whose message may be lost):
# a reminder goes out at most about this long after it is due, or after a fault ends.
REMINDER_SWEEP_SECONDS = env_int("REMINDER_SWEEP_SECONDS", default=15, minimum=5)
# The periodic schedule lives in code, reviewed like code (README: "Periodic work").
CELERY_BEAT_SCHEDULE = {
    "sweep-reminders": {"task": "scheduling.tasks.sweep_reminders", "schedule": float(REMINDER_SWEEP_SECONDS)},
    "end-finished-groups": {"task": "scheduling.tasks.end_finished_groups", "schedule": crontab(hour=0, minute=30)},
    "generate-sessions-ahead": {
        "task": "scheduling.tasks.generate_sessions_ahead",
        "schedule": crontab(hour=2, minute=15),
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Reminders ------------------------------------------------------------------------------
# How long before a session each reminder goes out; each number of hours is one reminder kind.
REMINDER_HOURS_BEFORE = env_int_list("REMINDER_HOURS_BEFORE", default=[24, 2], minimum=1)
REMINDER_MAX_ATTEMPTS = env_int("REMINDER_MAX_ATTEMPTS", default=5, minimum=1)
# A reminder left "sending" longer than this by a worker that died is sent again. Longer than a
# sending task may live (scheduling.reminders.SEND_TIME_LIMIT, 20 s): no living task still has it.
REMINDER_STALE_AFTER_SECONDS = env_int("REMINDER_STALE_AFTER_SECONDS", default=30, minimum=25)
# A pending reminder published this long ago without being claimed is published again: its message
# may be lost (a worker killed with it prefetched, a broker restarted empty). A second message for
# a row is harmless: only one claim succeeds.
REMINDER_REQUEUE_AFTER_SECONDS = env_int("REMINDER_REQUEUE_AFTER_SECONDS", default=30, minimum=10)
# /healthz and `manage.py check_reminders` call reminders late when due rows waited this long.
REMINDER_LATE_AFTER_SECONDS = env_int("REMINDER_LATE_AFTER_SECONDS", default=120, minimum=30)
# What /healthz reports besides its own database and broker: each name's function returns a dict
# with a "state" ("ok" or what is wrong) and figures.
IOP_HEALTH_REPORTS = {"reminders": "scheduling.reminders.health"}
# Dotted path of the SMS backend (scheduling.channels); a real provider plugs in here.
SMS_BACKEND = env_str(
    "SMS_BACKEND",
    default="scheduling.channels.FileSmsBackend" if DEBUG else "scheduling.channels.ConsoleSmsBackend",
)
SMS_FILE_PATH = VAR_DIR / "outbox" / "sms.log"
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.filebased.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", default=str(VAR_DIR / "outbox"))
EMAIL_HOST = env_str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env_int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
# Each step of talking to the mail server waits at most this long: a reminder's task must end
# well within its time limit (scheduling.reminders.SEND_SOFT_TIME_LIMIT).
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", default=5, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", default="reminders@localhost")

# --- Services the test-suite requires --------------------------------------------------------
IOP_REQUIRE_SERVICES = env_bool("IOP_REQUIRE_SERVICES", default=False)
SESSION_GENERATION_WEEKS = env_int("SESSION_GENERATION_WEEKS", default=8, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"iop": {"level": "INFO"}, "scheduling": {"level": "INFO"}},
}
