"""xloudnet — an OpenStack Networking (Neutron v2.0) compatible API over an in-memory control
plane that drives a vectorised data-plane simulator.

Layers (see docs/architecture in README): ``model`` ← ``control`` ← {``api``, ``scenarios``};
``control.snapshot`` ← ``dataplane`` ← ``sim``; ``dataplane``/``sim`` ← ``analysis`` ← ``api``.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
