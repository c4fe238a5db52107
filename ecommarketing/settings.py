"""Django settings, read from the environment once at start-up (see ecommarketing/env.py).

Variables (all optional in development):
  DATABASE_URL   postgres://user:pass@host:5432/db; unset -> embedded PostgreSQL under var/
  REDIS_URL      redis://host:6379/0 (or amqp://); unset -> Celery runs tasks eagerly in-process
  CELERY_BROKER_URL   the broker when it is not REDIS_URL's Redis, e.g. amqp://guest:guest@rabbitmq:5672//
  JOB_CHUNK_SIZE   items per chunk of a chunked job (0: each kind's default)
  SECRET_KEY     required when DEBUG is off; SECRET_KEY_FALLBACKS: old keys after a rotation (signatures, tombstones)
  DEBUG          1/0 (default 1: a development checkout; production sets 0)
  ALLOWED_HOSTS  comma-separated host names
  API_THROTTLE_USER / API_THROTTLE_ANON   DRF rates such as 2000/minute
  EMBEDDING_MODEL, SENTIMENT_MODEL, GENERATION_MODEL   model folders (defaults come with packages)
  GENERATION_BASE_URL, GENERATION_API_KEY, GENERATION_MODEL_NAME   OpenAI-compatible server
  GENERATION_CANDIDATES   candidates per part of campaign copy (best-of-n; 0: by backend)
  ASSISTANT_MAX_QUESTION_CHARS, ASSISTANT_MAX_TURNS   limits of the assistant's questions and conversations
  EMAIL_BACKEND  file (default, var/mail) | console | smtp | locmem | dotted path; EMAIL_HOST, EMAIL_PORT, ...
  CAMPAIGN_WEBHOOK_URL   SMS/push provider endpoint; unset -> JSONL files under var/exports
  CAMPAIGN_LINK_DOMAINS  the shop's own domains copy may link to (besides the landing URL's host)
  ASSISTANT_RATE_PER_ADDRESS   questions per client address for the storefront widget (default 20/min)
  EARLIEST_DATE  events, reviews and questions dated before it are refused (default 1990-01-01)
  PUBLIC_BASE_URL   where customers reach this server (absolute links in emails: unsubscribe)
  UNSUBSCRIBE_MAILTO   optional address for mailto List-Unsubscribe (the shop processes that mailbox)
  EVENT_RETENTION_DAYS   events older than this are folded into the profiles and deleted (0: keep forever)
  LOG_FORMAT, LOG_LEVEL   json | plain (default plain with DEBUG, json without); DEBUG..CRITICAL
  METRICS_ALLOWED_IPS, METRICS_TOKEN, PROMETHEUS_MULTIPROC_DIR   who may read /metrics; shared metrics folder
  CACHE_URL      redis://... | db:// | locmem:// (default: REDIS_URL one database up when it is redis, else db://)
  API_FAILED_AUTH_PER_MINUTE   failed token authentications per client address and minute before 429
  RECOMMENDATIONS_SERVED_FLUSH_SECONDS   how long a process buffers its "recommendations served" counts (default 10)
  ADMIN_LOGIN_FAILURE_LIMIT, ADMIN_LOGIN_COOLOFF_MINUTES   admin login lockout (username + address)
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from core import embedded
from core.env import (
    check_redis_url,
    env_bool,
    env_choice,
    env_date,
    env_int,
    env_list,
    env_networks,
    env_str,
    parse_database_url,
)
from core.logs import logging_config

django_stubs_ext.monkeypatch()  # lets ModelAdmin[Model] and friends be subscripted at run time

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = embedded.var_dir()

DEBUG = env_bool("DEBUG", True)


def _secret_key() -> str:
    key = env_str("SECRET_KEY", "")
    if key:
        if not DEBUG and len(key) < 50:
            raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters when DEBUG is off.")
        return key
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off: set it to a long random string "
            "(python -c 'import secrets; print(secrets.token_urlsafe(64))')."
        )
    path = VAR_DIR / "secret_key"  # a stable development key, so sessions survive restarts
    if not path.exists():
        path.write_text(secrets.token_urlsafe(64))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
# Old keys still accepted after a rotation (signed links, sessions) and still matching erased customers'
# tombstones (customers/tombstones.py): keep the old key here when SECRET_KEY changes.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# --- Database: any PostgreSQL with pgvector, or the embedded one -----------------------------------
_database_url = env_str("DATABASE_URL", "")
EMBEDDED_POSTGRES = not _database_url
EMBEDDED_POSTGRES_STARTED_HERE = False  # True in the process that started the server (it stops it)
if EMBEDDED_POSTGRES:
    _embedded = embedded.ensure_postgres(VAR_DIR)
    _database_url, EMBEDDED_POSTGRES_STARTED_HERE = _embedded.url, _embedded.started_here
DATABASES = {"default": parse_database_url("DATABASE_URL", _database_url).as_django()}
# Test runs create their own database; TEST_DATABASE_NAME lets parallel runs on one server not collide.
_test_database_name = env_str("TEST_DATABASE_NAME", "")
if _test_database_name:
    DATABASES["default"]["TEST"] = {"NAME": _test_database_name}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Queue --------------------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    check_redis_url("REDIS_URL", REDIS_URL)
# The broker: CELERY_BROKER_URL (amqp://user:pass@rabbitmq:5672// for RabbitMQ) or else REDIS_URL's Redis; the
# cache stays on REDIS_URL (or the database). Chunked jobs need no result backend, so either broker works.
_broker_url = env_str("CELERY_BROKER_URL", "")
if _broker_url:
    check_redis_url("CELERY_BROKER_URL", _broker_url)
CELERY_BROKER_URL = _broker_url or REDIS_URL or "memory://"
# Without a broker there is no worker: run tasks in-process so every command still works.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not (_broker_url or REDIS_URL))
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True  # results live in Job rows, not in the broker
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # long jobs: never hoard tasks another worker could run
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SOFT_TIME_LIMIT = env_int("JOB_SOFT_TIME_LIMIT", 6 * 3600, minimum=10)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 300
CELERY_BEAT_SCHEDULE = {
    # new and edited reviews are analysed on ingest too; the schedule catches anything missed
    "analyse-new-reviews": {
        "task": "catalog.request_review_analysis",
        "schedule": env_int("INSIGHT_REFRESH_SECONDS", 900, minimum=10),
    },
    # events queue an incremental profile update on ingest too; this catches anything missed
    "update-customer-profiles": {
        "task": "customers.request_profile_update",
        "schedule": env_int("PROFILE_REFRESH_SECONDS", 900, minimum=10),
    },
    # saves, bulk writes and imports queue a knowledge re-index; this catches anything missed (and does
    # nothing when no source changed)
    "index-assistant-knowledge": {
        "task": "assistant.request_knowledge_index",
        "schedule": env_int("KNOWLEDGE_REFRESH_SECONDS", 900, minimum=10),
    },
    # Thompson-sampling experiments re-weight when their own `reweight_hours` have passed; this only asks
    "reweight-experiments": {"task": "campaigns.reweight_experiments", "schedule": 3600},
    # messages scheduled at each customer's best hour leave when due; a run not started within the minute
    # expires (the next one does its work) rather than piling up behind a busy worker
    "dispatch-due-messages": {"task": "campaigns.dispatch_due_messages", "schedule": 60, "options": {"expires": 55}},
    # events older than EVENT_RETENTION_DAYS are folded into the profiles and deleted (nothing when 0)
    "purge-old-events": {"task": "customers.request_event_purge", "schedule": 86400},
    # jobs whose worker died (no heartbeat) are queued again or failed; jobs the broker never got are sent
    "reap-stale-jobs": {"task": "jobs.reap_stale_jobs", "schedule": env_int("JOB_REAPER_SECONDS", 60, minimum=5)},
}
# A running job's worker writes its heartbeat every JOB_HEARTBEAT_SECONDS; none for JOB_HEARTBEAT_TIMEOUT
# means the worker died: the job is queued again, and failed after JOB_MAX_ATTEMPTS attempts.
JOB_HEARTBEAT_SECONDS = env_int("JOB_HEARTBEAT_SECONDS", 15, minimum=1)
JOB_HEARTBEAT_TIMEOUT = env_int("JOB_HEARTBEAT_TIMEOUT", 120, minimum=3 * JOB_HEARTBEAT_SECONDS)
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 3, minimum=1)
# Recommendations served are counted in memory by each process and added to the per-day rows at most this many
# seconds later (one upsert per flush, none on the request path; `recommendations/served.py`).
RECOMMENDATIONS_SERVED_FLUSH_SECONDS = env_int("RECOMMENDATIONS_SERVED_FLUSH_SECONDS", 10, minimum=1, maximum=3600)
# Items per chunk of a chunked job (reviews, customers, messages, rows); 0: each kind's own default
# (reviews 1,000, customers 5,000, messages 1,000, rows 10,000).
JOB_CHUNK_SIZE = env_int("JOB_CHUNK_SIZE", 0, minimum=0)
# The largest line value an event may carry (API, bulk, import); negative values are always refused.
EVENT_MAX_VALUE = env_int("EVENT_MAX_VALUE", 10_000_000, minimum=1)
# Import files: the longest line (characters) and how far a .gz file may expand, so a gzip bomb or a
# file without line breaks stops with the line named instead of exhausting memory.
IMPORT_MAX_LINE_CHARS = env_int("IMPORT_MAX_LINE_CHARS", 32 * 1024 * 1024, minimum=1024)
IMPORT_MAX_DECOMPRESSED_BYTES = env_int("IMPORT_MAX_DECOMPRESSED_BYTES", 8 * 1024**3, minimum=1024 * 1024)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 600}

# --- Models (used from the inference issue on; validated here so a typo fails at start-up) ---------
EMBEDDING_MODEL = env_str("EMBEDDING_MODEL", "")
SENTIMENT_MODEL = env_str("SENTIMENT_MODEL", "")
GENERATION_MODEL = env_str("GENERATION_MODEL", "")
GENERATION_BASE_URL = env_str("GENERATION_BASE_URL", "")
GENERATION_API_KEY = env_str("GENERATION_API_KEY", "")
GENERATION_MODEL_NAME = env_str("GENERATION_MODEL_NAME", "")
# Candidates sampled per part of a variant (best-of-n); 0 picks by backend: 4 for a local model on CPU,
# 6 on a GPU or a server.
GENERATION_CANDIDATES = env_int("GENERATION_CANDIDATES", 0, minimum=0)
for _name, _value in (
    ("EMBEDDING_MODEL", EMBEDDING_MODEL),
    ("SENTIMENT_MODEL", SENTIMENT_MODEL),
    ("GENERATION_MODEL", GENERATION_MODEL),
):
    if _value and not Path(_value).is_dir():
        raise ImproperlyConfigured(f"{_name}={_value!r} is not a folder holding a model.")
if GENERATION_BASE_URL and not GENERATION_BASE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"GENERATION_BASE_URL={GENERATION_BASE_URL!r} must start with http:// or https://")

# --- Applications -------------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",  # OpClass in index expressions (the customers' trigram search indexes)
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our own static files (no CDN, a strict CSP)
    "axes",  # admin login lockout
    "jobs",
    "audit",
    "access",  # hashed, scoped API tokens; permission changes and lockouts to the audit log
    "catalog",
    "customers",
    "recommendations",
    "campaigns",
    "assistant",
    "privacy",  # after customers: its admin replaces the customer page's
    "ingest",
    "demo",
    "dashboard",  # the admin home as the manager's dashboard
]

MIDDLEWARE = [
    "core.logs.RequestIdMiddleware",  # first: every later line of the request carries its id
    "core.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "ecommarketing.unavailable.DatabaseUnavailableMiddleware",  # database down: 503, not a traceback
    "csp.middleware.CSPMiddleware",
    "assistant.keys.AssistantCorsMiddleware",  # CORS of /api/v1/assistant/ only (publishable keys' origins)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.middleware.BodyTooLargeMiddleware",  # a body past DATA_UPLOAD_MAX_MEMORY_SIZE: 413 naming the limit
    "access.middleware.CurrentRequestMiddleware",  # who changed a permission, for the audit log
    "axes.middleware.AxesMiddleware",  # last: answers a locked-out login with 429
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out username + address before checking
    "access.backends.AddressThrottleBackend",  # then an address with too many failures (any usernames)
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "ecommarketing.urls"
WSGI_APPLICATION = "ecommarketing.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # core/templates before the apps': its admin/pagination.html (estimated counts) replaces Django's own
        "DIRS": [BASE_DIR / "templates", BASE_DIR / "core" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
DEFAULT_CURRENCY = env_str("DEFAULT_CURRENCY", "USD")
# Admin lists count exactly up to this many rows, above it they show the planner's estimate (core.large_lists)
ADMIN_EXACT_COUNT_LIMIT = env_int("ADMIN_EXACT_COUNT_LIMIT", 100_000, minimum=100)
# Gross margin (percent of the list price) of what customers buy, for the discount suggestions
# (campaigns.discounts), used where a product has no unit cost in its attributes ("cost").
DEFAULT_GROSS_MARGIN_PERCENT = env_int("DEFAULT_GROSS_MARGIN_PERCENT", 40, minimum=0, maximum=99)

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns about a missing folder before collectstatic runs
MEDIA_ROOT = VAR_DIR / "media"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 50 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 100_000

# --- Assistant (answering) ------------------------------------------------------------------------------
# A question longer than this is refused (400); a conversation with more shopper messages than this is
# handed to a person ("conversation_too_long") instead of answered.
ASSISTANT_MAX_QUESTION_CHARS = env_int("ASSISTANT_MAX_QUESTION_CHARS", 1000, minimum=20, maximum=20_000)
ASSISTANT_MAX_TURNS = env_int("ASSISTANT_MAX_TURNS", 30, minimum=2, maximum=1000)

# --- Campaign delivery -----------------------------------------------------------------------------------
# EMAIL_BACKEND: "file" (default: one .log file per send batch under var/mail, readable in the demo),
# "console", "smtp", "locmem", or a dotted backend path. SMTP reads EMAIL_HOST/PORT/HOST_USER/HOST_PASSWORD
# and EMAIL_USE_TLS/EMAIL_USE_SSL.
_EMAIL_BACKENDS = {
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
}
_email_backend = env_str("EMAIL_BACKEND", "file")
if _email_backend not in _EMAIL_BACKENDS and "." not in _email_backend:
    raise ImproperlyConfigured(
        f"EMAIL_BACKEND={_email_backend!r} is not one of {', '.join(_EMAIL_BACKENDS)} nor a dotted backend path."
    )
EMAIL_BACKEND = _EMAIL_BACKENDS.get(_email_backend, _email_backend)
EMAIL_FILE_PATH = Path(env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail")))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL are exclusive: set only one of them.")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "shop@example.com")
# SMS and push go to an external provider: POST JSON batches to this URL when set, else JSONL files under
# CAMPAIGN_EXPORT_DIR for the provider to pick up.
CAMPAIGN_WEBHOOK_URL = env_str("CAMPAIGN_WEBHOOK_URL", "")
if CAMPAIGN_WEBHOOK_URL and not CAMPAIGN_WEBHOOK_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"CAMPAIGN_WEBHOOK_URL={CAMPAIGN_WEBHOOK_URL!r} must start with http:// or https://")
CAMPAIGN_WEBHOOK_TOKEN = env_str("CAMPAIGN_WEBHOOK_TOKEN", "")  # sent as a Bearer token when set
CAMPAIGN_WEBHOOK_TIMEOUT = env_int("CAMPAIGN_WEBHOOK_TIMEOUT", 10, minimum=1)
# The shop's own domains copy may link to, besides each campaign's landing URL host (campaigns.guardrails).
CAMPAIGN_LINK_DOMAINS = [domain.lower().removeprefix("www.") for domain in env_list("CAMPAIGN_LINK_DOMAINS", [])]
for _domain in CAMPAIGN_LINK_DOMAINS:
    if not re.fullmatch(r"[a-z0-9-]+(?:\.[a-z0-9-]+)+", _domain):
        raise ImproperlyConfigured(f"CAMPAIGN_LINK_DOMAINS: {_domain!r} is not a domain name like shop.example")
CAMPAIGN_EXPORT_DIR = Path(env_str("CAMPAIGN_EXPORT_DIR", str(VAR_DIR / "exports")))
# Where customers reach this server: the unsubscribe links in every email are absolute (a mail client has no
# other base). No path after the host except a prefix, no query.
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://localhost:8000").rstrip("/")
_public = urlsplit(PUBLIC_BASE_URL)
if _public.scheme not in ("http", "https") or not _public.netloc or _public.query or _public.fragment:
    raise ImproperlyConfigured(
        f"PUBLIC_BASE_URL={PUBLIC_BASE_URL!r} must be an http(s) address such as https://marketing.shop.example"
    )
# Optional: a mailbox the shop reads for mailto unsubscribes (List-Unsubscribe carries both when set).
UNSUBSCRIBE_MAILTO = env_str("UNSUBSCRIBE_MAILTO", "")
if UNSUBSCRIBE_MAILTO and not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", UNSUBSCRIBE_MAILTO):
    raise ImproperlyConfigured(f"UNSUBSCRIBE_MAILTO={UNSUBSCRIBE_MAILTO!r} is not an email address.")

# --- Retention -------------------------------------------------------------------------------------------
# Events older than this many days are folded into the profiles (customers.retention) and deleted by a daily
# job; 0 keeps them forever. Under 30 days would cut into attribution windows and live ranking's history.
EVENT_RETENTION_DAYS = env_int("EVENT_RETENTION_DAYS", 730, minimum=0)
if 0 < EVENT_RETENTION_DAYS < 30:
    raise ImproperlyConfigured(
        f"EVENT_RETENTION_DAYS={EVENT_RETENTION_DAYS}: use 0 (keep events forever) or at least 30 days."
    )

# --- REST API -------------------------------------------------------------------------------------------
# Dates before this (or more than a day in the future) are refused on every way in: see core.moments
EARLIEST_DATE = env_date("EARLIEST_DATE", "1990-01-01")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "access.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.permissions.ModelPermissions"],
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.BoundedJSONParser",  # a body nested 1,000 deep was a 500 (RecursionError)
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "core.query_params.StrictQueryParams",  # first: an unknown parameter is a 400, not an unfiltered list
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",  # documents the error answers and nullable references
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("API_THROTTLE_ANON", "60/minute"),
        "user": env_str("API_THROTTLE_USER", "3000/minute"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "ecommarketing API",
    "DESCRIPTION": (
        "Catalog, customers, behaviour events, reviews, campaigns and background jobs of an "
        "e-commerce shop. Authenticate with `Authorization: Token <key>` (one token per integration) "
        "or a session. Bulk endpoints upsert by external id and report per-row errors. The assistant's "
        "conversation endpoints also take the storefront widget's publishable key (`X-Publishable-Key`), "
        "only from the key's allowed origins and only to ask."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ConversationStatusEnum": "assistant.models.ConversationStatus",
        "JobStatusEnum": "jobs.models.JobStatus",  # a job and its chunks share the statuses
    },
}

# --- Assistant: limits of the public widget ---------------------------------------------------------------
ASSISTANT_RATE_PER_ADDRESS = env_str("ASSISTANT_RATE_PER_ADDRESS", "20/min")  # questions per client address
if not re.fullmatch(r"\d+/[smhd]\w*", ASSISTANT_RATE_PER_ADDRESS):
    raise ImproperlyConfigured(
        f"ASSISTANT_RATE_PER_ADDRESS={ASSISTANT_RATE_PER_ADDRESS!r} must look like 20/min (per s, min, hour, day)"
    )

# --- Shared state: throttles, failed authentications --------------------------------------------------------
# Several gunicorn workers must count the same requests, so the cache is Redis or the database, never a
# process's memory in production (the table `ecom_cache` is made by the access app's migrations).


def _next_redis_database(url: str) -> str:
    """The broker's Redis, one database number up: clearing the cache (FLUSHDB) must never drop the queue."""
    parts = urlsplit(url)
    number = parts.path.strip("/")
    return urlunsplit(parts._replace(path=f"/{int(number) + 1 if number.isdigit() else 1}"))


_cache_url = env_str(
    "CACHE_URL", _next_redis_database(REDIS_URL) if REDIS_URL.startswith(("redis://", "rediss://")) else "db://"
)
if _cache_url.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}}
elif _cache_url == "db://":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "ecom_cache"}}
elif _cache_url == "locmem://" and DEBUG:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise ImproperlyConfigured(
        f"CACHE_URL={_cache_url!r} must be redis://host:6379/1 or db:// (locmem:// only with DEBUG on: "
        "each process would count its own requests)."
    )
API_FAILED_AUTH_PER_MINUTE = env_int("API_FAILED_AUTH_PER_MINUTE", 20, minimum=1)

# --- Admin login lockout (django-axes): failures are counted per username and address, in the database --------
AXES_FAILURE_LIMIT = env_int("ADMIN_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("ADMIN_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# --- Logs and metrics (core/logs.py, core/metrics.py, ecommarketing/metrics.py) ----------------------------
# LOG_FORMAT: json (one object per line, with request_id/job_id) or plain; default plain in development
# (DEBUG on), json in production.
LOG_FORMAT = env_choice("LOG_FORMAT", "plain" if DEBUG else "json", ("json", "plain"))
LOGGING = logging_config(LOG_FORMAT, env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")))
# /metrics answers these client addresses or networks, or a request with `Authorization: Bearer METRICS_TOKEN`
METRICS_ALLOWED_IPS = env_networks("METRICS_ALLOWED_IPS", ["127.0.0.1", "::1"])
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
if METRICS_TOKEN and len(METRICS_TOKEN) < 20:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 20 characters (or unset).")
# Several processes (gunicorn and Celery workers on one machine) share metrics through this folder
# (prometheus_client reads it at import); it must exist and be emptied before they start.
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR", "")
if PROMETHEUS_MULTIPROC_DIR and not Path(PROMETHEUS_MULTIPROC_DIR).is_dir():
    raise ImproperlyConfigured(f"PROMETHEUS_MULTIPROC_DIR={PROMETHEUS_MULTIPROC_DIR!r} is not a folder.")
LOGGING["loggers"]["axes"] = {"level": "WARNING"}  # one line per lockout is enough

# --- Content-Security-Policy (django-csp) ------------------------------------------------------------------
# Scripts only from our own static files (no inline script anywhere: the admin, the charts' inline SVG, the
# assistant's demo page and widget, and Swagger UI from drf-spectacular-sidecar with its split view). Inline
# style attributes stay allowed: the admin's badges, bars and charts use them, and a style cannot run code.
SPECTACULAR_SETTINGS |= {"SWAGGER_UI_DIST": "SIDECAR", "SWAGGER_UI_FAVICON_HREF": "SIDECAR"}
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
