"""The API describes itself: OpenAPI at /api/v1/openapi.json and interactive docs at /api/v1/docs."""

from __future__ import annotations

from fastapi.testclient import TestClient

EXPECTED = {
    ("post", "/api/v1/auth/login"), ("get", "/api/v1/conversations"),
    ("get", "/api/v1/conversations/{conversation_id}"),
    ("post", "/api/v1/conversations/{conversation_id}/messages"), ("get", "/api/v1/contacts"),
    ("post", "/api/v1/contacts/import"), ("get", "/api/v1/contacts/export.csv"), ("post", "/api/v1/webhooks"),
    ("post", "/api/v1/attachments"), ("post", "/api/v1/tokens"), ("get", "/api/v1/channels/kinds"),
}


def test_openapi_document_lists_the_routes_without_secrets(http: TestClient) -> None:
    resp = http.get("/api/v1/openapi.json")  # public: no credentials needed to read the contract
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/json")
    doc = resp.json()
    assert doc["openapi"].startswith("3.") and doc["info"]["title"] == "Crocevia"
    listed = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert listed >= EXPECTED
    # Provider webhooks and signed media links are not part of the client API.
    assert not [p for p in doc["paths"] if p.startswith(("/webhooks/", "/media/"))]
    schemas = doc["components"]["schemas"]
    # Public views never carry secrets; the "created" views show them once.
    assert "credentials" not in schemas["ChannelPublic"]["properties"]
    assert "secret" not in schemas["WebhookSubscriptionPublic"]["properties"]
    assert "token" not in schemas["TokenPublic"]["properties"]
    assert "token" in schemas["TokenCreated"]["properties"]
    assert schemas["ContactIn"].get("additionalProperties") is False


def test_docs_page_serves_and_points_at_the_document(http: TestClient) -> None:
    resp = http.get("/api/v1/docs")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    assert "swagger" in resp.text.lower() and "/api/v1/openapi.json" in resp.text
