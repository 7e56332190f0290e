"""Root conftest: lets ``pytest slo_tests …`` work from a checkout that was never pip-installed.

The contract gate's plugin (``hypersync_slo.gate.plugin``) normally loads through its
``pytest11`` entry point, declared in pyproject.toml, for every pytest run in an environment
where hypersync-slo is installed. Registering it a second time (``pytest_plugins`` here or
``-p hypersync_slo.gate.plugin``) would make pytest stop with "Plugin already registered", so
this file registers it only when no such entry point exists (a bare clone on PYTHONPATH).
Project fixtures live in tests/conftest.py, not here.
"""

from importlib.metadata import entry_points

_GATE = "hypersync_slo.gate.plugin"

if not any(ep.value == _GATE for ep in entry_points(group="pytest11")):
    pytest_plugins = [_GATE]
