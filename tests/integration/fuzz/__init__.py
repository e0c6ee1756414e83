"""Fuzzing the Falcon app (hypothesis and schemathesis); the fixtures are in conftest.py."""
