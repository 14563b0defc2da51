"""The plugin is tested through pytester: sample projects run in their own pytest sessions.

pytester's in-process runs drop the modules first imported during them, so a second run
would import gevent a second time into the same process; importing the broker host here,
once, keeps one gevent for all of them.
"""

import stomptest.broker.host  # noqa: F401

pytest_plugins = ["pytester"]
collect_ignore = ["sample_project"]
