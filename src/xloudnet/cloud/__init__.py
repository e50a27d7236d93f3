"""Real clouds: log in as the openstack CLI does, import a cloud into a scenario, apply one."""
