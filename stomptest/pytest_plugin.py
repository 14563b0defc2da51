"""The pytest plugin (entry point ``pytest11``): fixtures that give each test a STOMP broker.

Importing this module must stay cheap and free of side effects: it loads in every pytest
run of every environment where stomptest is installed.
"""
