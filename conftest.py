"""Root pytest configuration: the kit's fixtures for every test folder."""

pytest_plugins = ["motcua_kit.testing"]
