"""The plugin is tested through pytester: sample projects run in their own pytest sessions."""

pytest_plugins = ["pytester"]
collect_ignore = ["sample_project"]
