"""Fixtures for the Excel bridge: an xlwings licence key for the server and a TestClient."""
from __future__ import annotations

import pytest


@pytest.fixture
def licensed(monkeypatch):
    """xlwings' server features need a licence key; tests use the noncommercial one explicitly."""
    monkeypatch.setenv("XLWINGS_LICENSE_KEY", "noncommercial")


@pytest.fixture
def client(licensed):
    from fastapi.testclient import TestClient

    from apxl.excel.server import create_app

    with TestClient(create_app()) as c:
        yield c
