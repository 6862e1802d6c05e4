"""The REST API (/api/v1): thin routes over services, pydantic schemas, problem+json errors."""
