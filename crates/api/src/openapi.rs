//! The OpenAPI 3.1 document served at `/api/v1/openapi.json`, assembled from the domains'
//! parts (each domain folder declares the operations and schemas of its own routes).
//!
//! The first part carries the document's header (info, server, tags, security schemes); the
//! order of the parts is the order of the tags in the document, so a new domain appends its
//! part.
//! `tests/routes_documented.rs` checks that every route served is documented here, and
//! `tests/openapi.rs` that the document is the committed `docs/openapi.json`.

/// The OpenAPI document served at `/api/v1/openapi.json`.
pub fn document() -> serde_json::Value {
    // The Services API part holds the header; the others follow in the order of their tags.
    let mut doc = crate::messaging::openapi::services();
    for part in [
        crate::citizen::openapi::document(),
        crate::messaging::openapi::callbacks::document(),
    ] {
        doc.merge(part);
    }
    serde_json::to_value(doc).unwrap_or_else(|e| {
        // Unreachable in practice: the document holds only strings, numbers and maps.
        tracing::error!(error.cause = %e, "OpenAPI document not serializable");
        serde_json::Value::Null
    })
}
