"""Real clouds: log in as the ``openstack`` CLI does, import a cloud into a scenario, apply one.

- ``connection`` — options, ``OS_*`` variables and clouds.yaml through openstacksdk's config
  loader; ``login`` (token and catalog endpoints for the HTTP client) and ``connect`` (an
  openstacksdk ``Connection``);
- ``inventory`` — everything the credentials see, read page by page as Neutron JSON;
- ``importer`` — an inventory → a ``Scenario`` (ids kept, unique names) and its YAML (``flowyaml``);
- ``plan`` / ``planner`` / ``apply`` — a scenario compared with a cloud as create / update /
  unchanged steps, and running them.

The submodules are imported by name: the CLI loads openstacksdk and the scenario models only
when a command needs them.
"""

__all__: list[str] = []
