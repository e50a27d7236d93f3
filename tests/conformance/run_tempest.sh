#!/usr/bin/env bash
# Upstream conformance: run tempest's and neutron-tempest-plugin's network API tests against a
# fresh `xloudnet serve`. Not part of the default test run (it takes ~10-20 minutes).
#
#   bash tests/conformance/run_tempest.sh            # everything selected below
#   bash tests/conformance/run_tempest.sh REGEX      # a subset, e.g. 'test_routers'
#
# Tempest and the plugin live in their own virtualenv (default .tempest-venv, override with
# TEMPEST_VENV) so their pinned dependencies never touch the project's environment.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=${TEMPEST_VENV:-.tempest-venv}
if [ ! -x "$venv/bin/tempest" ]; then
  python -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
      'tempest==47.0.0' 'neutron-tempest-plugin==3.3.0'
fi
exec python tests/conformance/run_tempest.py --venv "$venv" "$@"
