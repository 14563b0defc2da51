"""The plugin is tested through pytester (loaded by the root conftest.py): sample projects run in their own sessions.

pytester's in-process runs drop the modules first imported during them, so a second run
would import gevent a second time into the same process; importing the broker host here,
once, keeps one gevent for all of them.
"""

import stomptest.broker.host  # noqa: F401

collect_ignore = ["sample_project"]
