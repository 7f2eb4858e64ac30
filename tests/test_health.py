def test_healthz_round_trips_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_openapi_document_describes_the_api(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert {"/buildings", "/buildings/{code}", "/me"} <= set(spec["paths"])


def test_static_files_are_served(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200 and b"--red" in response.data
