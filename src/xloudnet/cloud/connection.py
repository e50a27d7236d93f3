"""Log in the way every OpenStack tool does.

The options, the ``OS_*`` environment variables and ``clouds.yaml`` (``--os-cloud`` /
``OS_CLOUD``, ``OS_CLIENT_CONFIG_FILE``) are resolved by openstacksdk's config loader, the same
code the ``openstack`` CLI runs, and the login itself is keystoneauth1's; endpoints come from the
token's service catalog. Two xloudnet conveniences sit on top, each only where the loader left
the value unset: ``--url ROOT`` (``XLOUDNET_URL``) is a shortcut for ``--os-auth-url
ROOT/identity/v3``, and with nothing configured at all the CLI logs in to the local server
(``http://127.0.0.1:9696``) as ``admin`` with ``XLOUDNET_PASSWORD`` (default ``secret``).
A project not named anywhere defaults to the one named like the user (every xloudnet account
has one), and user and project domains to ``default``, as the ``openstack`` CLI's
``--os-default-domain`` does.

openstacksdk takes about half a second to import, so it is imported inside the functions that
log in: ``xloudnet serve`` and ``--help`` do not pay for it.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


__all__ = [
    "LOCAL_ROOT",
    "Login",
    "LoginError",
    "add_auth_options",
    "cloud_region",
    "connect",
    "login",
]

LOCAL_ROOT = "http://127.0.0.1:9696"
IDENTITY_PATH = "/identity/v3"

# The option destinations handed to the config loader (it strips ``os_`` and files them under
# ``auth`` where the auth plugin wants them).
_LOADER_KEYS = (
    "os_cloud", "os_auth_url", "os_username", "os_password", "os_project_name", "os_project_id",
    "os_user_domain_name", "os_project_domain_name", "os_region_name", "os_interface", "os_cacert",
)


@dataclass(frozen=True)
class Login:
    """A token, the catalog's endpoints by service type, and how to verify TLS."""

    token: str
    endpoints: Mapping[str, str] = field(default_factory=dict)
    verify: bool | str = True
    who: str = ""  # "user 'demo' in project 'demo' at URL", for messages


class LoginError(Exception):
    """Configuration or login failed; the message is one line for the terminal."""


def add_auth_options(parser: argparse.ArgumentParser, *, with_url: bool = True,
                     environ: Mapping[str, str] | None = None) -> None:
    """The ``openstack`` CLI's authentication options (defaults: clouds.yaml, then ``OS_*``)."""
    group = parser.add_argument_group(
        "authentication (as the openstack CLI: --os-cloud / OS_CLOUD and clouds.yaml, or OS_* variables)")
    add = group.add_argument
    add("--os-cloud", metavar="NAME", help="cloud in clouds.yaml (OS_CLOUD)")
    add("--os-auth-url", metavar="URL", help="identity endpoint, e.g. http://HOST:9696/identity/v3 (OS_AUTH_URL)")
    if with_url:
        env = environ or {}
        add("--url", default=env.get("XLOUDNET_URL"), metavar="ROOT",
            help="shortcut for --os-auth-url ROOT/identity/v3 (XLOUDNET_URL); with no cloud configured "
                 f"at all: {LOCAL_ROOT}")
    add("--os-username", "--user", dest="os_username", metavar="NAME", help="user name (OS_USERNAME; default admin)")
    add("--os-password", "--password", dest="os_password", metavar="PASSWORD",
        help="password (OS_PASSWORD; default XLOUDNET_PASSWORD or 'secret')")
    add("--os-project-name", "--project", dest="os_project_name", metavar="NAME",
        help="project to scope to (OS_PROJECT_NAME; default: the project named like the user)")
    add("--os-project-id", metavar="ID", help="project id instead of its name (OS_PROJECT_ID)")
    add("--os-user-domain-name", metavar="NAME", help="user's domain (OS_USER_DOMAIN_NAME; default Default)")
    add("--os-project-domain-name", metavar="NAME", help="project's domain (OS_PROJECT_DOMAIN_NAME; default Default)")
    add("--os-region-name", metavar="REGION", help="catalog region (OS_REGION_NAME)")
    add("--os-interface", metavar="INTERFACE", help="catalog interface: public, internal or admin (OS_INTERFACE)")
    add("--os-cacert", metavar="FILE", help="CA bundle to verify TLS (OS_CACERT)")
    add("--insecure", action="store_true", default=None, help="do not verify TLS certificates")


def cloud_region(args: argparse.Namespace, environ: Mapping[str, str]):
    """The ``openstack.config.cloud_region.CloudRegion`` the options and environment name."""
    from openstack import config as os_config
    from openstack import exceptions as sdk_exceptions
    from keystoneauth1 import exceptions as ks_exceptions

    chosen = {key: value for key in _LOADER_KEYS if (value := getattr(args, key, None)) not in (None, "")}
    if getattr(args, "url", None):
        chosen["os_auth_url"] = args.url.rstrip("/") + IDENTITY_PATH
    if getattr(args, "insecure", None):
        chosen["verify"] = False
    try:
        loader = os_config.OpenStackConfig(app_name="xloudnet")
        peek = loader.get_one_cloud_osc(argparse=argparse.Namespace(**chosen), validate=False)
        defaults = _local_defaults(peek.config, environ)
        return loader.get_one_cloud_osc(argparse=argparse.Namespace(**{**defaults, **chosen}), validate=True)
    except (sdk_exceptions.ConfigException, ks_exceptions.ClientException, OSError) as exc:
        raise LoginError(f"cloud configuration: {_one_line(exc)}") from None


def _local_defaults(config: dict[str, Any], environ: Mapping[str, str]) -> dict[str, str]:
    """Values for what neither the options, the environment nor clouds.yaml set."""
    auth = config.get("auth") or {}

    def given(*keys: str) -> bool:
        return any(config.get(k) or auth.get(k) for k in keys)

    defaults: dict[str, str] = {}
    if not given("auth_url"):
        defaults["os_auth_url"] = LOCAL_ROOT + IDENTITY_PATH
    if config.get("auth_type") not in (None, "", "password", "v3password"):
        return defaults  # tokens, application credentials: nothing of ours applies
    if not given("username", "user_id"):
        defaults["os_username"] = "admin"
    if not given("password"):
        defaults["os_password"] = environ.get("XLOUDNET_PASSWORD", "secret")
    if not given("project_name", "project_id", "domain_name", "domain_id", "system_scope"):
        defaults["os_project_name"] = config.get("username") or auth.get("username") or defaults["os_username"]
    if not given("user_domain_name", "user_domain_id"):
        defaults["os_user_domain_id"] = "default"
    if not given("project_domain_name", "project_domain_id"):
        defaults["os_project_domain_id"] = "default"
    return defaults


def describe(region) -> str:
    """``user 'demo' in project 'demo' at URL``: who a login is, for error messages."""
    auth = region.config.get("auth") or {}
    user = auth.get("username") or auth.get("user_id") or auth.get("application_credential_id") or "?"
    project = auth.get("project_name") or auth.get("project_id")
    where = f" in project '{project}'" if project else ""
    return f"user '{user}'{where} at {auth.get('auth_url', '?')}"


def login(args: argparse.Namespace, environ: Mapping[str, str],
          services: Sequence[str] = ("network", "network-simulation")) -> Login:
    """Log in and find ``services`` (catalog types) in the catalog; :class:`LoginError` if not."""
    from keystoneauth1 import exceptions as ks_exceptions

    _quiet_keystoneauth()
    region = cloud_region(args, environ)
    session = region.get_session()
    who = describe(region)
    try:
        token = session.get_token()
        endpoints = {}
        for service in services:
            url = session.get_endpoint(service_type=service, interface=region.get_interface(),
                                       region_name=region.get_region_name() or None)
            if url is None:
                raise LoginError(f"the catalog of {who} has no '{service}' endpoint")
            endpoints[service] = url.rstrip("/")
    except ks_exceptions.EndpointNotFound:
        raise LoginError(f"the catalog of {who} lacks one of: {', '.join(services)}") from None
    except ks_exceptions.ClientException as exc:
        raise LoginError(_login_failure(region, who, exc)) from None
    verify, _cert = region.get_requests_verify_args()
    return Login(token=token, endpoints=endpoints, verify=verify, who=who)


def connect(args: argparse.Namespace, environ: Mapping[str, str]):
    """An authenticated ``openstack.connection.Connection`` (for import and apply)."""
    import openstack
    from keystoneauth1 import exceptions as ks_exceptions

    _quiet_keystoneauth()
    region = cloud_region(args, environ)
    who = describe(region)
    conn = openstack.connection.Connection(config=region)
    try:
        conn.authorize()
    except ks_exceptions.ClientException as exc:
        raise LoginError(_login_failure(region, who, exc)) from None
    except openstack.exceptions.SDKException as exc:
        if getattr(exc, "status_code", None) == 401:
            raise LoginError(_refused(who)) from None
        raise LoginError(f"cannot log in as {who}: {_one_line(exc)}") from None
    return conn


def _refused(who: str) -> str:
    return f"login refused for {who}: wrong password, unknown user or project, or no role on the project"


def _login_failure(region, who: str, exc: Exception) -> str:
    """One line for a keystoneauth failure: refused, unreachable, or not an identity service."""
    from keystoneauth1 import exceptions as ks_exceptions

    auth_url = (region.config.get("auth") or {}).get("auth_url", "?")
    if isinstance(exc, ks_exceptions.Unauthorized):
        return _refused(who)
    if isinstance(exc, ks_exceptions.ConnectFailure) or "Unable to establish connection" in str(exc):
        return f"cannot reach the identity service at {auth_url} (check OS_AUTH_URL or --os-cloud)"
    if isinstance(exc, ks_exceptions.DiscoveryFailure):
        return f"no Keystone v3 identity service answers at {auth_url} (check OS_AUTH_URL or --os-cloud)"
    return f"cannot log in as {who}: {_one_line(exc)}"


def _quiet_keystoneauth() -> None:
    """keystoneauth logs a warning before it raises; the CLI reports the failure once, itself."""
    for name in ("keystoneauth", "openstack"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            logger.addHandler(logging.NullHandler())


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] or type(exc).__name__
