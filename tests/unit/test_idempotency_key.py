"""The gateway's Idempotency-Key as the request_id the server accepts (AIP-155: a UUID)."""

from __future__ import annotations

import uuid

import pytest
from starlette.requests import Request

from longreel.gateway.bodies import idempotency_key
from longreel.gateway.errors import HttpError
from longreel.server.names import UUID

A_UUID = "8e03978e-40d5-43e8-bc93-6894a57f9324"


def request(**headers: str) -> Request:
    raw = [
        (name.replace("_", "-").lower().encode(), value.encode()) for name, value in headers.items()
    ]
    return Request({"type": "http", "headers": raw})


def test_a_uuid_key_is_the_request_id_itself():
    assert idempotency_key(request(Idempotency_Key=A_UUID.upper())) == A_UUID
    assert idempotency_key(request(Idempotency_Key=f'"{A_UUID}"')) == A_UUID


def test_any_other_key_becomes_the_same_uuid_every_time_and_another_for_another_key():
    first = idempotency_key(request(Idempotency_Key="order-17"))
    assert UUID.fullmatch(first) and uuid.UUID(first).version == 5
    assert idempotency_key(request(Idempotency_Key="order-17")) == first
    assert idempotency_key(request(Request_Id="order-17")) == first
    assert idempotency_key(request(Idempotency_Key="order-18")) != first


def test_no_key_is_no_request_id_and_a_malformed_one_names_its_header():
    assert idempotency_key(request()) == ""
    with pytest.raises(HttpError) as refused:
        idempotency_key(request(Request_Id="has spaces"))
    assert str(refused.value).startswith("Request-Id:")
