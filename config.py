"""Settings, read from the environment with safe defaults (UPPERCASE keys only)."""
import os

BASE_DIR = os.path.abspath(os.path.dirname(__file__))
INSTANCE_DIR = os.path.join(BASE_DIR, "instance")

# Database: an SQLite file for the embedded default, PostgreSQL in production.
SQLALCHEMY_DATABASE_URI = os.environ.get(
    "DATABASE_URL", "sqlite:///" + os.path.join(INSTANCE_DIR, "yekuotong.db"))
SQLALCHEMY_TRACK_MODIFICATIONS = False
MODEL_PATH = os.environ.get("MODEL_PATH", os.path.join(BASE_DIR, "model.yaml"))
# Set in create_app: a development default only in debug/demo mode.
SECRET_KEY = os.environ.get("SECRET_KEY")
UPLOAD_FOLDER = os.path.join(os.environ.get("UPLOAD_FOLDER") or os.path.join(INSTANCE_DIR, "uploads"), "")
# Where uploaded scans go (app/storage): "folder" (UPLOAD_FOLDER) or "database" (shared by every app
# host); unset: database on PostgreSQL, folder otherwise.
UPLOAD_STORAGE = os.environ.get("UPLOAD_STORAGE", "")
FILE_ALLOWED_EXTENSIONS = ("pdf", "png", "jpg", "jpeg", "tif", "tiff")
MAX_CONTENT_LENGTH = 20 * 1024 * 1024

APP_NAME = "业扩通"
APP_TIMEZONE = "Asia/Shanghai"
AUTH_TYPE = 1  # AUTH_DB: username and password kept in our database
AUTH_ROLE_ADMIN = "admin"
AUTH_ROLE_PUBLIC = "public"
FAB_UPDATE_PERMS = False  # permissions are created by `flask model apply`, not by every worker
FAB_CREATE_DB = False  # tables come from Alembic migrations
FAB_ADD_SECURITY_VIEWS = True
FAB_API_SWAGGER_UI = True
FAB_SECURITY_MANAGER_CLASS = "app.security.views.AppSecurityManager"
FAB_INDEX_VIEW = "app.portal.views.WorkbenchIndexView"
FAB_PASSWORD_COMPLEXITY_ENABLED = True  # the policy: app/security/passwords.py
WTF_CSRF_ENABLED = True
WTF_CSRF_TIME_LIMIT = 8 * 3600  # a form left open for a working day still submits

# Sessions: SameSite=Lax always; Secure when served over HTTPS (set SESSION_COOKIE_SECURE=1).
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE") == "1"
REMEMBER_COOKIE_SAMESITE = "Lax"
REMEMBER_COOKIE_HTTPONLY = True
REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Development/demo key, created once per installation (never a constant); production sets SECRET_KEY.
SECRET_KEY_FILE = os.path.join(INSTANCE_DIR, "secret_key")

# Rate limits (Flask-Limiter): Redis when REDIS_URL is set (shared by all workers), else per process.
RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or os.environ.get("REDIS_URL") or "memory://"
RATELIMIT_HEADERS_ENABLED = True
# Failed sign-ins (form and API together) per address and per user name; then a lock-out.
LOGIN_RATE_LIMIT_PER_IP = os.environ.get("LOGIN_RATE_LIMIT_PER_IP", "30 per 10 minutes")
LOGIN_RATE_LIMIT_PER_USER = os.environ.get("LOGIN_RATE_LIMIT_PER_USER", "10 per 10 minutes")
LOGIN_LOCKOUT_FAILURES = int(os.environ.get("LOGIN_LOCKOUT_FAILURES", "5"))
LOGIN_LOCKOUT_MINUTES = int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15"))
# Public verification of printed forms (/verify/<code>), per address.
VERIFY_RATE_LIMIT = os.environ.get("VERIFY_RATE_LIMIT", "30 per minute")
WTF_I18N_ENABLED = True

BABEL_DEFAULT_LOCALE = "zh"
BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
BABEL_TRANSLATION_DIRECTORIES = os.path.join(BASE_DIR, "translations")
LANGUAGES = {
    "zh": {"flag": "cn", "name": "简体中文"},
    "en": {"flag": "gb", "name": "English"},
}

# The SLA sweep runs in-process every minute unless production runs it from cron.
SLA_SWEEP_IN_PROCESS = os.environ.get("SLA_SWEEP_IN_PROCESS", "1") == "1"
