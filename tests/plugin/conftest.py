"""The plugin is tested through pytester: sample projects run in their own pytest sessions."""

collect_ignore = ["sample_project"]
