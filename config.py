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
UPLOAD_FOLDER = os.path.join(INSTANCE_DIR, "uploads") + os.sep
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
FAB_SECURITY_MANAGER_CLASS = "app.security.manager.StaffSecurityManager"
FAB_INDEX_VIEW = "app.portal.views.WorkbenchIndexView"
FAB_PASSWORD_COMPLEXITY_ENABLED = False
WTF_CSRF_ENABLED = True
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
