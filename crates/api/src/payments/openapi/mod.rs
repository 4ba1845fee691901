//! The OpenAPI 3.1 document of the payments API, served at `/api/gpd/openapi.json` and
//! committed as `docs/openapi-gpd.json`: GPD's operations under our prefix `/api/gpd` (the
//! document's server), with GPD's operation ids, parameters and schemas
//! (`reference/pagopa/openapi/gpd.json`, `gpd_v3.json`, `orgs_payment_options.json`,
//! checked by `tests/openapi_gpd.rs`), GPD's internal operations, and Sportello's own.
//!
//! Built as JSON from Rust declarations rather than with utoipa: the handlers take raw bodies
//! (the wire model of `payments::gpd` parses them field by field) and the schemas are GPD's,
//! kept name for name, so they are written as GPD writes them ([`schemas`]).
//!
//! Operation ids: GPD's own for v1 and the payment-options verification; v3 operations
//! carry GPD's v3 id with the suffix `V3` (`createPositionV3`), since both versions are in one
//! document. GPD's internal operations (no reference file) are tagged `GPD internal`;
//! Sportello's own are tagged `Sportello` and marked `x-sportello-only: true`.

mod schemas;

use serde_json::{Map, Value, json};

/// `GET /api/gpd/openapi.json`: the document, unauthenticated like `/api/v1/openapi.json`.
pub async fn serve() -> axum::Json<Value> {
    axum::Json(document())
}

/// The GPD document's operations, tags and components.
pub fn document() -> Value {
    let mut paths = Map::new();
    for (method, path, operation) in operations() {
        let item = paths
            .entry(path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(item) = item {
            item.insert(method.to_owned(), operation.0);
        }
    }
    let mut components = Map::new();
    for (name, schema) in schemas::gpd().into_iter().chain(sportello_schemas()) {
        components.insert(name.to_owned(), schema);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Sportello Debt Positions API (GPD-compatible)",
            "version": env!("CARGO_PKG_VERSION"),
            "license": { "name": "EUPL-1.2", "identifier": "EUPL-1.2" },
            "description": "pagoPA GPD's debt-position API as Sportello serves it: software \
                written for GPD changes only its base URL to `<sportello>/api/gpd` and keeps \
                the version segment (`/v1`, `/v3`, the internal `/v2/…/bulk`). Operation ids, \
                parameters and schemas are GPD's (v3 ids carry the suffix `V3`). Sportello's \
                differences: `iuv`/`nav` are optional on create (allocated from the \
                organization's segregation code), validation is stricter (IBAN mod-97, fiscal \
                code and notice number check characters, non-empty required texts; the \
                reference's bounds are kept in the schemas and the property's description \
                says what more is checked, marked `x-sportello`), errors are RFC 7807 \
                `application/problem+json` with `invalid_params`, and operations tagged \
                `Sportello` (reissue, history, notice PDF, the citizen's payments) are \
                Sportello's own (`x-sportello-only`). Authenticated by the organization's \
                payments key in `Ocp-Apim-Subscription-Key`.",
        },
        "servers": [{ "url": "/api/gpd", "description": "This Sportello instance" }],
        "tags": [
            { "name": "Debt Positions API", "description": "GPD v1 (`/v1`)" },
            { "name": "Debt Position Actions API", "description": "GPD v1 and v3 actions" },
            { "name": "Debt Positions API V3", "description": "GPD v3 (`/v3`): installments and payment options" },
            { "name": "Payment Options Resource", "description": "Verification of a notice's payment options (`orgs_payment_options.json`)" },
            { "name": "GPD internal", "description": "GPD's internal operations (payment, reporting, notification fee, bulk create); no public reference file" },
            { "name": "Sportello", "description": "Sportello only: not in GPD" },
            { "name": "citizen", "description": "Sportello only: the citizen's payments (session bearer token, absolute paths)" },
        ],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "ApiKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Ocp-Apim-Subscription-Key",
                    "description": "The organization's payments key (primary or secondary), \
                        issued by `sportello admin payments enable`.",
                },
                "citizen_session": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A citizen session token: `Authorization: Bearer <token>`.",
                },
            },
        },
    })
}

/// A `$ref` to a schema of the document.
fn schema(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// One operation, built up.
struct Op(Value);

impl Op {
    fn new(id: &str, tag: &str, summary: &str) -> Self {
        Self(json!({
            "operationId": id,
            "tags": [tag],
            "summary": summary,
            "parameters": [],
            "responses": {},
            "security": [{ "ApiKey": [] }],
        }))
    }

    /// A Sportello-only operation.
    fn sportello(id: &str, tag: &str, summary: &str) -> Self {
        let mut op = Self::new(id, tag, &format!("Sportello only: {summary}"));
        op.0["x-sportello-only"] = json!(true);
        op
    }

    fn param(mut self, name: &str, location: &str, schema: Value, description: &str) -> Self {
        let required = location == "path";
        if let Some(list) = self.0["parameters"].as_array_mut() {
            list.push(json!({
                "name": name,
                "in": location,
                "required": required,
                "description": description,
                "schema": schema,
            }));
        }
        self
    }

    /// Marks the last parameter as Sportello's, or required.
    fn last_param(mut self, key: &str, value: Value) -> Self {
        if let Some(p) = self.0["parameters"]
            .as_array_mut()
            .and_then(|l| l.last_mut())
        {
            p[key] = value;
        }
        self
    }

    fn org(self) -> Self {
        self.param(
            "organizationfiscalcode",
            "path",
            json!({ "type": "string" }),
            "Organization fiscal code, the fiscal code of the Organization (the payments \
             key's own).",
        )
    }

    /// `organizationfiscalcode` and `iupd`, with GPD's pattern where GPD declares it.
    fn org_iupd(self, with_pattern: bool) -> Self {
        let s = if with_pattern {
            json!({ "type": "string", "pattern": "[\\w*\\h-]+" })
        } else {
            json!({ "type": "string" })
        };
        self.param(
            "organizationfiscalcode",
            "path",
            s.clone(),
            "Organization fiscal code, the fiscal code of the Organization (the payments \
             key's own).",
        )
        .param(
            "iupd",
            "path",
            s,
            "IUPD (Unique identifier of the debt position).",
        )
    }

    fn iuv(self) -> Self {
        self.param(
            "iuv",
            "path",
            json!({ "type": "string" }),
            "The option's IUV or its notice number (NAV).",
        )
    }

    fn publish_flag(self) -> Self {
        self.param(
            "toPublish",
            "query",
            json!({ "type": "boolean", "default": false }),
            "Publish the position at once.",
        )
    }

    fn body(mut self, schema: Value, required: bool) -> Self {
        self.0["requestBody"] = json!({
            "required": required,
            "content": { "application/json": { "schema": schema } },
        });
        self
    }

    fn ok(mut self, status: &str, description: &str, schema: Option<Value>) -> Self {
        let mut response = json!({ "description": description });
        if let Some(schema) = schema {
            response["content"] = json!({ "application/json": { "schema": schema } });
        }
        self.0["responses"][status] = response;
        self
    }

    fn raw_body(mut self, types: &[&str]) -> Self {
        let mut content = Map::new();
        for t in types {
            content.insert((*t).to_owned(), json!({ "schema": { "type": "string" } }));
        }
        self.0["requestBody"] = json!({ "required": true, "content": content });
        self
    }

    fn csv(mut self, description: &str) -> Self {
        self.0["responses"]["200"] = json!({
            "description": description,
            "content": { "text/csv": { "schema": { "type": "string" } } },
        });
        self
    }

    fn pdf(mut self, description: &str) -> Self {
        self.0["responses"]["200"] = json!({
            "description": description,
            "content": { "application/pdf": { "schema": { "type": "string", "contentMediaType": "application/pdf" } } },
        });
        self
    }

    /// Error responses: `application/problem+json` with a `ProblemJson`.
    fn errors(mut self, statuses: &[&str]) -> Self {
        for status in statuses {
            let description = match *status {
                "400" => "Malformed request: every field at fault is listed in `invalid_params`.",
                "401" => "Wrong or missing payments key.",
                "403" => {
                    "Forbidden: the key belongs to another organization, the organization is \
                     disabled, or the client address is outside its authorized CIDRs."
                }
                "404" => "Not found.",
                "409" => "Conflict: a duplicate, or the position's state does not allow it.",
                "422" => "Sportello: the request is well formed but cannot be carried out.",
                _ => "Service unavailable.",
            };
            self.0["responses"][*status] = json!({
                "description": description,
                "content": { "application/problem+json": { "schema": schema("ProblemJson") } },
            });
        }
        self
    }

    fn security(mut self, security: Value) -> Self {
        self.0["security"] = security;
        self
    }
}

/// The list filters of `getOrganizationDebtPositions`, v1 or v3 (`status` differs).
fn list_filters(op: Op, statuses: &[&str]) -> Op {
    let date = |what: &str| {
        format!(
            "Filter {what} (yyyy-MM-dd, or a date-time). The interval may span at most 30 days."
        )
    };
    op.org()
        .param(
            "limit",
            "query",
            json!({ "type": "integer", "format": "int32", "minimum": 1, "maximum": 50, "default": 10 }),
            "Number of elements on one page.",
        )
        .param(
            "page",
            "query",
            json!({ "type": "integer", "format": "int32", "minimum": 0, "default": 0 }),
            "Page number, from 0.",
        )
        .param("due_date_from", "query", json!({ "type": "string", "format": "date" }), &date("from due_date"))
        .param("due_date_to", "query", json!({ "type": "string", "format": "date" }), &date("to due_date"))
        .param("payment_date_from", "query", json!({ "type": "string", "format": "date" }), &date("from payment_date"))
        .param("payment_date_to", "query", json!({ "type": "string", "format": "date" }), &date("to payment_date"))
        .param(
            "payment_date_time_from",
            "query",
            json!({ "type": "string", "format": "date-time" }),
            "Sportello: the same as `payment_date_from`, as a date-time (GPD's later form).",
        )
        .last_param("x-sportello", json!("added"))
        .param(
            "payment_date_time_to",
            "query",
            json!({ "type": "string", "format": "date-time" }),
            "Sportello: the same as `payment_date_to`, as a date-time (GPD's later form).",
        )
        .last_param("x-sportello", json!("added"))
        .param(
            "status",
            "query",
            json!({ "type": "string", "enum": statuses }),
            "Filter by debt position status.",
        )
        .param(
            "orderby",
            "query",
            json!({ "type": "string", "enum": ["INSERTED_DATE", "IUPD", "STATUS", "COMPANY_NAME"], "default": "INSERTED_DATE" }),
            "Order by INSERTED_DATE, COMPANY_NAME, IUPD or STATUS.",
        )
        .param(
            "ordering",
            "query",
            json!({ "type": "string", "enum": ["ASC", "DESC"], "default": "DESC" }),
            "Direction of ordering.",
        )
        .param(
            "segregationCodes",
            "query",
            json!({ "type": "string", "pattern": "^[0-9]{2}(,[0-9]{2})*$" }),
            "Sportello: only the positions whose notices carry one of these segregation codes \
             (comma-separated, two digits each).",
        )
        .last_param("x-sportello", json!("added"))
}

const V1_STATUSES: &[&str] = &[
    "DRAFT",
    "PUBLISHED",
    "VALID",
    "INVALID",
    "EXPIRED",
    "PARTIALLY_PAID",
    "PAID",
    "REPORTED",
];
const V3_STATUSES: &[&str] = &[
    "DRAFT",
    "PUBLISHED",
    "VALID",
    "UNPAYABLE",
    "PARTIALLY_PAID",
    "PAID",
];

/// Every operation: `(method, path under /api/gpd or absolute, operation)`.
fn operations() -> Vec<(&'static str, &'static str, Op)> {
    const DP: &str = "Debt Positions API";
    const ACTIONS: &str = "Debt Position Actions API";
    const V3: &str = "Debt Positions API V3";
    const INTERNAL: &str = "GPD internal";
    const SPORTELLO: &str = "Sportello";
    const V1_LIST: &str = "/v1/organizations/{organizationfiscalcode}/debtpositions";
    const V1_ONE: &str = "/v1/organizations/{organizationfiscalcode}/debtpositions/{iupd}";
    const V3_LIST: &str = "/v3/organizations/{organizationfiscalcode}/debtpositions";
    const V3_ONE: &str = "/v3/organizations/{organizationfiscalcode}/debtpositions/{iupd}";
    let create = "The Organization creates a debt position. Sportello allocates `iuv` and \
                  `nav` of the options sent without them.";
    vec![
        (
            "get",
            "/info",
            Op::new("healthCheck", INTERNAL, "Return OK if application is started")
                .security(json!([]))
                .ok("200", "OK.", Some(schema("AppInfo"))),
        ),
        // GPD v1.
        (
            "post",
            V1_LIST,
            Op::new("createPosition", DP, create)
                .org()
                .publish_flag()
                .body(schema("PaymentPositionModel"), true)
                .ok("201", "Request created.", Some(schema("PaymentPositionModel")))
                .errors(&["400", "401", "403", "409", "500"]),
        ),
        (
            "get",
            V1_LIST,
            list_filters(
                Op::new(
                    "getOrganizationDebtPositions",
                    DP,
                    "Return the list of the organization debt positions.",
                ),
                V1_STATUSES,
            )
            .ok(
                "200",
                "Obtained all organization payment positions.",
                Some(schema("PaymentPositionsInfo")),
            )
            .errors(&["400", "401", "403", "500"]),
        ),
        (
            "patch",
            "/v1/organizations/{organizationfiscalcode}/debtpositions/transfers",
            Op::new(
                "updateTransferIbanMassive",
                DP,
                "The Organization updates the IBANs of every updatable payment option's transfers",
            )
            .org()
            .param(
                "oldIban",
                "query",
                json!({ "type": "string" }),
                "The old IBAN to replace (Sportello checks its mod-97 digits).",
            )
            .last_param("required", json!(true))
            .param(
                "limit",
                "query",
                json!({ "type": "integer", "format": "int32", "minimum": 1, "maximum": 1000, "default": 1000 }),
                "Number of transfers to update.",
            )
            .body(schema("UpdateTransferIbanMassiveModel"), true)
            .ok(
                "200",
                "IBANs updated",
                Some(schema("UpdateTransferIbanMassiveResponse")),
            )
            .errors(&["400", "401", "403", "500"]),
        ),
        (
            "get",
            V1_ONE,
            Op::new(
                "getOrganizationDebtPositionByIUPD",
                DP,
                "Return the details of a specific debt position.",
            )
            .org_iupd(true)
            .ok(
                "200",
                "Obtained debt position details.",
                Some(schema("PaymentPositionModelBaseResponse")),
            )
            .errors(&["401", "403", "404", "500"]),
        ),
        (
            "put",
            V1_ONE,
            Op::new(
                "updatePosition",
                DP,
                "The Organization updates a debt position.",
            )
            .org_iupd(false)
            .publish_flag()
            .body(schema("PaymentPositionModel"), true)
            .ok(
                "200",
                "Request updated.",
                Some(schema("PaymentPositionModel")),
            )
            .errors(&["400", "401", "403", "404", "409", "500"]),
        ),
        (
            "delete",
            V1_ONE,
            Op::new(
                "deletePosition",
                DP,
                "The Organization deletes a debt position",
            )
            .org_iupd(true)
            .ok("200", "Request deleted.", Some(json!({ "type": "string" })))
            .errors(&["401", "403", "404", "409", "500"]),
        ),
        (
            "post",
            "/v1/organizations/{organizationfiscalcode}/debtpositions/{iupd}/publish",
            Op::new(
                "publishPosition",
                ACTIONS,
                "The Organization publish a debt Position.",
            )
            .org_iupd(false)
            .ok(
                "200",
                "Request published.",
                Some(schema("PaymentPositionModel")),
            )
            .errors(&["401", "403", "404", "409", "500"]),
        ),
        (
            "post",
            "/v1/organizations/{organizationfiscalcode}/debtpositions/{iupd}/invalidate",
            Op::new(
                "invalidatePosition",
                ACTIONS,
                "The Organization invalidate a debt Position.",
            )
            .org_iupd(false)
            .ok(
                "200",
                "Request published.",
                Some(schema("PaymentPositionModel")),
            )
            .errors(&["401", "403", "404", "409", "500"]),
        ),
        // Sportello's additions to v1.
        (
            "post",
            "/v1/organizations/{organizationfiscalcode}/debtpositions/{iupd}/reissue",
            Op::sportello(
                "reissuePosition",
                SPORTELLO,
                "a new position replacing this one (new due dates, new notices); the old one \
                 is invalidated and linked to it.",
            )
            .org_iupd(false)
            .body(schema("ReissueModel"), false)
            .ok(
                "201",
                "The new position.",
                Some(schema("PaymentPositionModel")),
            )
            .errors(&["400", "401", "403", "404", "409", "500"]),
        ),
        (
            "get",
            "/v1/organizations/{organizationfiscalcode}/debtpositions/{iupd}/history",
            Op::sportello(
                "getDebtPositionHistory",
                SPORTELLO,
                "every change of a position, and each option's pre-notice with the state of \
                 its IO message.",
            )
            .org_iupd(false)
            .ok(
                "200",
                "The history.",
                Some(schema("DebtPositionHistory")),
            )
            .errors(&["401", "403", "404", "500"]),
        ),
        (
            "get",
            "/v1/organizations/{organizationfiscalcode}/debtpositions/{iupd}/notice",
            Op::sportello(
                "getDebtPositionNotice",
                SPORTELLO,
                "the position's payment notice (avviso pagoPA) as a PDF.",
            )
            .org_iupd(false)
            .param(
                "language",
                "query",
                json!({ "type": "string", "enum": ["it", "de", "en"], "default": "it" }),
                "A second language beside Italian (`de`, `en`).",
            )
            .pdf("The notice.")
            .errors(&["400", "401", "403", "404", "422", "500"]),
        ),
        // GPD's internal operations on payment options.
        (
            "get",
            "/v1/organizations/{organizationfiscalcode}/paymentoptions/{iuv}",
            Op::new(
                "getOrganizationPaymentOptionByIUV",
                INTERNAL,
                "Return the details of a payment option.",
            )
            .org()
            .iuv()
            .ok(
                "200",
                "The payment option.",
                Some(schema("PaymentOptionModelResponse")),
            )
            .errors(&["401", "403", "404", "500"]),
        ),
        (
            "get",
            "/v1/organizations/{organizationfiscalcode}/paymentoptions/{iuv}/debtposition",
            Op::new(
                "getDebtPositionByIUV",
                INTERNAL,
                "Return the debt position of a payment option.",
            )
            .org()
            .iuv()
            .ok(
                "200",
                "The debt position.",
                Some(schema("PaymentPositionModelBaseResponse")),
            )
            .errors(&["401", "403", "404", "500"]),
        ),
        (
            "post",
            "/v1/organizations/{organizationfiscalcode}/paymentoptions/{iuv}/pay",
            Op::new("payPaymentOption", INTERNAL, "Pay a payment option.")
                .org()
                .iuv()
                .body(schema("PayPaymentOptionModel"), true)
                .ok(
                    "200",
                    "The paid payment option.",
                    Some(schema("PaymentOptionModelResponse")),
                )
                .errors(&["400", "401", "403", "404", "409", "500"]),
        ),
        (
            "post",
            "/v1/organizations/{organizationfiscalcode}/paymentoptions/paids/{iuv}",
            Op::new(
                "setPaymentOptionAsAlreadyPaid",
                INTERNAL,
                "Record a payment made outside pagoPA.",
            )
            .org()
            .iuv()
            .body(schema("AlreadyPaidModel"), false)
            .ok(
                "200",
                "The paid payment option.",
                Some(schema("PaymentOptionModelResponse")),
            )
            .errors(&["400", "401", "403", "404", "409", "500"]),
        ),
        (
            "put",
            "/v1/organizations/{organizationfiscalcode}/paymentoptions/{iuv}/notificationfee",
            Op::new(
                "updateNotificationFee",
                INTERNAL,
                "The organization updates the notification fee of a payment option.",
            )
            .org()
            .iuv()
            .body(schema("NotificationFeeUpdateModel"), true)
            .ok(
                "200",
                "The updated payment option.",
                Some(schema("PaymentOptionModelResponse")),
            )
            .errors(&["400", "401", "403", "404", "409", "422", "500"]),
        ),
        (
            "post",
            "/v1/organizations/{organizationfiscalcode}/paymentoptions/{iuv}/transfers/{transferid}/report",
            Op::new("reportTransfer", INTERNAL, "Report a transfer of a paid option.")
                .org()
                .iuv()
                .param(
                    "transferid",
                    "path",
                    json!({ "type": "string" }),
                    "The transfer's `idTransfer`.",
                )
                .ok(
                    "200",
                    "The reported transfer.",
                    Some(schema("TransferModelResponse")),
                )
                .errors(&["401", "403", "404", "409", "500"]),
        ),
        (
            "post",
            "/v1/payment-options/organizations/{organization-fiscal-code}/notices/{notice-number}",
            Op::new(
                "getPaymentOptionsByNoticeNumber",
                "Payment Options Resource",
                "Verify a notice: its payment options and their status.",
            )
            .param(
                "notice-number",
                "path",
                json!({ "type": "string" }),
                "The notice number (Sportello verifies its check digits).",
            )
            .param(
                "organization-fiscal-code",
                "path",
                json!({ "type": "string" }),
                "The organization's fiscal code (the payments key's own).",
            )
            .ok("200", "OK", Some(schema("PaymentOptionsResponse")))
            .errors(&["400", "401", "403", "404", "500"]),
        ),
        (
            "post",
            "/v2/organizations/{organizationfiscalcode}/debtpositions/bulk",
            Op::new(
                "createMultiplePositions",
                INTERNAL,
                "The Organization creates up to 100 debt positions, all or none.",
            )
            .org()
            .publish_flag()
            .body(schema("MultiplePaymentPositionModel"), true)
            .ok("201", "Request created.", None)
            .errors(&["400", "401", "403", "409", "500"]),
        ),
        // GPD v3.
        (
            "post",
            V3_LIST,
            Op::new("createPositionV3", V3, create)
                .org()
                .publish_flag()
                .body(schema("PaymentPositionModelV3"), true)
                .ok(
                    "201",
                    "Request created.",
                    Some(schema("PaymentPositionModelV3")),
                )
                .errors(&["400", "401", "403", "409", "500"]),
        ),
        (
            "get",
            V3_LIST,
            list_filters(
                Op::new(
                    "getOrganizationDebtPositionsV3",
                    V3,
                    "Return the list of the organization debt positions.",
                ),
                V3_STATUSES,
            )
            .ok(
                "200",
                "Obtained all organization payment positions.",
                Some(schema("PaymentPositionsInfoV3")),
            )
            .errors(&["400", "401", "403", "500"]),
        ),
        (
            "get",
            V3_ONE,
            Op::new(
                "getOrganizationDebtPositionByIUPDV3",
                V3,
                "Return the details of a specific debt position.",
            )
            .org_iupd(true)
            .ok(
                "200",
                "Obtained debt position details.",
                Some(schema("PaymentPositionModelResponseV3")),
            )
            .errors(&["401", "403", "404", "500"]),
        ),
        (
            "put",
            V3_ONE,
            Op::new(
                "updatePositionV3",
                V3,
                "The Organization updates a debt position.",
            )
            .org_iupd(false)
            .publish_flag()
            .body(schema("PaymentPositionModelV3"), true)
            .ok(
                "200",
                "Request updated.",
                Some(schema("PaymentPositionModelV3")),
            )
            .errors(&["400", "401", "403", "404", "409", "500"]),
        ),
        (
            "delete",
            V3_ONE,
            Op::new(
                "deletePositionV3",
                V3,
                "The Organization deletes a debt position",
            )
            .org_iupd(true)
            .ok("200", "Request deleted.", Some(json!({ "type": "string" })))
            .errors(&["401", "403", "404", "409", "500"]),
        ),
        (
            "post",
            "/v3/organizations/{organizationfiscalcode}/debtpositions/{iupd}/publish",
            Op::new(
                "publishPositionV3",
                ACTIONS,
                "The Organization publish a debt Position.",
            )
            .org_iupd(false)
            .ok(
                "200",
                "Request published.",
                Some(schema("PaymentPositionModelV3")),
            )
            .errors(&["401", "403", "404", "409", "500"]),
        ),
        // The citizen's side (absolute paths).
        (
            "get",
            "/api/citizen/v1/payments",
            Op::sportello(
                "getCitizenPayments",
                "citizen",
                "every debt position the citizen is the debtor of, newest first.",
            )
            .security(json!([{ "citizen_session": [] }]))
            .ok("200", "The payments.", Some(schema("CitizenPayments")))
            .errors(&["401", "500"]),
        ),
        (
            "get",
            "/api/citizen/v1/payments/{organizationfiscalcode}/{iupd}/notice",
            Op::sportello(
                "getCitizenPaymentNotice",
                "citizen",
                "the payment notice of a position the citizen owes, as a PDF.",
            )
            .security(json!([{ "citizen_session": [] }]))
            .org_iupd(false)
            .pdf("The notice.")
            .errors(&["401", "404", "422", "500"]),
        ),
        (
            "get",
            "/api/citizen/v1/payments/receipts/{organizationfiscalcode}/{receiptid}",
            Op::sportello(
                "getCitizenPaymentReceipt",
                "citizen",
                "the receipt of a payment the citizen made (as its debtor), as a PDF.",
            )
            .security(json!([{ "citizen_session": [] }]))
            .org()
            .param(
                "receiptid",
                "path",
                json!({ "type": "string" }),
                "The node's receipt id.",
            )
            .pdf("The receipt.")
            .errors(&["401", "404", "422", "500"]),
        ),
        // The receipts of the pagoPA node (docs/PAGOPA-NODE.md).
        (
            "get",
            "/v1/organizations/{organizationfiscalcode}/receipts",
            Op::sportello(
                "getOrganizationReceipts",
                "receipts",
                "the organization's receipts from the pagoPA node, newest first.",
            )
            .org()
            .param("page", "query", json!({ "type": "integer", "minimum": 0, "default": 0 }), "Page, from 0.")
            .param("limit", "query", json!({ "type": "integer", "minimum": 1, "maximum": 1000, "default": 50 }), "Receipts per page.")
            .param("from", "query", json!({ "type": "string" }), "Received from this date (yyyy-MM-dd) or date-time.")
            .param("to", "query", json!({ "type": "string" }), "Received up to this date (inclusive) or date-time.")
            .ok("200", "The receipts.", Some(schema("ReceiptsList")))
            .errors(&["400", "401", "403", "500"]),
        ),
        (
            "get",
            "/v1/organizations/{organizationfiscalcode}/receipts/{iuv}",
            Op::sportello(
                "getOrganizationReceiptsByIuv",
                "receipts",
                "every receipt of the organization for this IUV (more than one: a double payment), in full.",
            )
            .org()
            .param("iuv", "path", json!({ "type": "string" }), "The IUV (creditorReferenceId).")
            .ok("200", "The receipts.", Some(schema("ReceiptsOfIuv")))
            .errors(&["401", "403", "404", "500"]),
        ),
        // Reconciliation (docs/RECONCILIATION.md).
        (
            "post",
            "/api/payments/v1/organizations/{organizationfiscalcode}/reporting-flows",
            Op::sportello(
                "postReportingFlow",
                "reconciliation",
                "ingests one reporting flow: FlussoRiversamento XML (1.0/1.1) or FdR 3 JSON.",
            )
            .org()
            .raw_body(&["application/xml", "text/xml", "application/json"])
            .ok("201", "Ingested.", Some(schema("FlowIngested")))
            .ok("200", "Already known: nothing changed.", Some(schema("FlowIngested")))
            .errors(&["401", "403", "404", "413", "422", "500"]),
        ),
        (
            "get",
            "/api/payments/v1/organizations/{organizationfiscalcode}/reporting-flows",
            Op::sportello(
                "getReportingFlows",
                "reconciliation",
                "the reporting flows held, newest first.",
            )
            .org()
            .param("limit", "query", json!({ "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 }), "Flows to list.")
            .ok("200", "The flows.", Some(json!({ "type": "object", "required": ["flows"], "properties": { "flows": { "type": "array", "items": { "type": "object" } } } })))
            .errors(&["400", "401", "403", "500"]),
        ),
        (
            "post",
            "/api/payments/v1/organizations/{organizationfiscalcode}/treasury",
            Op::sportello(
                "postTreasuryStatement",
                "reconciliation",
                "ingests one treasury statement: OPI giornale di cassa 1.7.1/1.8, camt.053 or the documented CSV.",
            )
            .org()
            .raw_body(&["application/xml", "text/xml", "text/csv"])
            .ok("201", "Ingested.", Some(schema("StatementIngested")))
            .ok("200", "Already known: nothing changed.", Some(schema("StatementIngested")))
            .errors(&["401", "403", "404", "413", "422", "500"]),
        ),
        (
            "get",
            "/api/payments/v1/organizations/{organizationfiscalcode}/reconciliation",
            recon_filters(Op::sportello(
                "getReconciliation",
                "reconciliation",
                "one item per payment (IUV + transfer index) and per unmatched movement, by date, with the totals per class.",
            ))
            .param("limit", "query", json!({ "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 }), "Items per page.")
            .param("cursor", "query", json!({ "type": "string" }), "The `next` of the previous page.")
            .ok("200", "The items.", Some(schema("ReconciliationPage")))
            .errors(&["400", "401", "403", "500"]),
        ),
        (
            "get",
            "/api/payments/v1/organizations/{organizationfiscalcode}/reconciliation/export",
            recon_filters(Op::sportello(
                "exportReconciliation",
                "reconciliation",
                "every item of the filter as CSV for the accounting office, with capitolo and accertamento.",
            ))
            .param("format", "query", json!({ "type": "string", "enum": ["csv"] }), "The export format.")
            .csv("The items.")
            .errors(&["400", "401", "403", "500"]),
        ),
        (
            "get",
            "/api/payments/v1/organizations/{organizationfiscalcode}/reconciliation/summary",
            Op::sportello(
                "getReconciliationSummary",
                "reconciliation",
                "per day: expected (receipts), reported (flow lines), credited (movements), reconciled, anomalies.",
            )
            .org()
            .param("from", "query", json!({ "type": "string", "format": "date" }), "First day.")
            .param("to", "query", json!({ "type": "string", "format": "date" }), "Last day (at most 366 days after `from`).")
            .ok("200", "The days.", Some(json!({ "type": "object", "required": ["days"], "properties": { "days": { "type": "array", "items": { "type": "object" } } } })))
            .errors(&["400", "401", "403", "500"]),
        ),
        (
            "post",
            "/api/payments/v1/organizations/{organizationfiscalcode}/reconciliation/run",
            Op::sportello(
                "runReconciliation",
                "reconciliation",
                "runs the three-way match now (incremental unless `full`).",
            )
            .org()
            .param("full", "query", json!({ "type": "boolean", "default": false }), "Everything, not only what changed.")
            .ok("200", "What the run did.", Some(json!({ "type": "object", "required": ["items", "changed", "new_anomalies", "scope"], "properties": { "items": { "type": "integer" }, "changed": { "type": "integer" }, "new_anomalies": { "type": "integer" }, "scope": { "type": "string", "enum": ["all", "changed"] }, "position_effects": { "type": "integer" } } })))
            .errors(&["400", "401", "403", "404", "500"]),
        ),
        (
            "get",
            "/api/payments/v1/organizations/{organizationfiscalcode}/reconciliation/items/{key}",
            Op::sportello("getReconciliationItem", "reconciliation", "one item by its key.")
                .org()
                .param("key", "path", json!({ "type": "string" }), "`p:<iuv>:<index>` or `m:<movement id>`.")
                .ok("200", "The item.", Some(schema("ReconciliationItem")))
                .errors(&["401", "403", "404", "500"]),
        ),
        (
            "post",
            "/api/payments/v1/organizations/{organizationfiscalcode}/reconciliation/items/{key}/annotation",
            Op::sportello(
                "annotateReconciliationItem",
                "reconciliation",
                "the operator's note on an item, and its closing or reopening (audited).",
            )
            .org()
            .param("key", "path", json!({ "type": "string" }), "`p:<iuv>:<index>` or `m:<movement id>`.")
            .body(json!({ "type": "object", "additionalProperties": false, "properties": { "note": { "type": "string", "maxLength": 2000 }, "close": { "type": "boolean" } } }), true)
            .ok("200", "The item.", Some(schema("ReconciliationItem")))
            .errors(&["400", "401", "403", "404", "500"]),
        ),
    ]
}

/// The filters of the reconciliation list and export.
fn recon_filters(op: Op) -> Op {
    op.org()
        .param("class", "query", json!({ "type": "string" }), "Comma-separated classes: RECONCILED, PENDING, PAID_NOT_REPORTED, REPORTED_NOT_TRANSFERRED, REPORTED_NOT_PAID, TRANSFER_UNMATCHED, AMOUNT_MISMATCH, DUPLICATE, REVOKED.")
        .param("from", "query", json!({ "type": "string", "format": "date" }), "Payment date (movement date for a stray movement) from.")
        .param("to", "query", json!({ "type": "string", "format": "date" }), "… up to, inclusive.")
        .param("psp", "query", json!({ "type": "string" }), "PSP id.")
        .param("flow", "query", json!({ "type": "string" }), "Reporting flow id.")
        .param("anomalies", "query", json!({ "type": "boolean", "default": false }), "Only anomalies.")
        .param("closed", "query", json!({ "type": "boolean", "default": true }), "`false`: hide closed anomalies.")
}

/// Sportello's request and response schemas: bodies of GPD's internal operations (which
/// have no reference file) and of Sportello's own operations.
fn sportello_schemas() -> Vec<(&'static str, Value)> {
    let date_time = json!({ "type": "string", "format": "date-time" });
    let text = json!({ "type": "string" });
    let classes = json!({ "type": "string", "enum": ["RECONCILED", "PENDING", "PAID_NOT_REPORTED", "REPORTED_NOT_TRANSFERRED", "REPORTED_NOT_PAID", "TRANSFER_UNMATCHED", "AMOUNT_MISMATCH", "DUPLICATE", "REVOKED"] });
    vec![
        (
            "FlowIngested",
            json!({
                "type": "object",
                "required": ["created", "flow_id", "psp_id", "revision", "digest", "format", "lines", "foreign_lines", "checks", "duplicate"],
                "properties": {
                    "created": { "type": "boolean" },
                    "flow_id": text,
                    "psp_id": text,
                    "revision": { "type": "integer" },
                    "digest": text,
                    "format": { "type": "string", "enum": ["XML", "REST"] },
                    "lines": { "type": "integer" },
                    "foreign_lines": { "type": "integer" },
                    "checks": { "type": "array", "items": text },
                    "duplicate": { "type": "boolean" },
                },
            }),
        ),
        (
            "StatementIngested",
            json!({
                "type": "object",
                "required": ["created", "document_id", "format", "digest", "movements", "new_movements", "naming_flows", "naming_iuvs", "signature_kept"],
                "properties": {
                    "created": { "type": "boolean" },
                    "document_id": text,
                    "format": { "type": "string", "enum": ["OPI_1_7_1", "OPI_1_8", "CAMT_053", "CSV"] },
                    "digest": text,
                    "movements": { "type": "integer" },
                    "new_movements": { "type": "integer" },
                    "naming_flows": { "type": "integer" },
                    "naming_iuvs": { "type": "integer" },
                    "signature_kept": { "type": "boolean" },
                },
            }),
        ),
        (
            "ReconciliationItem",
            json!({
                "type": "object",
                "required": ["key", "class", "amount", "date", "documents", "explanation", "updated_at"],
                "properties": {
                    "key": text,
                    "class": classes,
                    "iuv": text,
                    "transfer_index": { "type": ["integer", "null"] },
                    "amount": { "type": "integer", "description": "Cents." },
                    "date": { "type": "string", "format": "date" },
                    "psp_id": text,
                    "due": { "type": "string", "format": "date" },
                    "documents": {
                        "type": "object",
                        "properties": { "receipt_id": text, "flow_id": text, "movement_id": text },
                    },
                    "explanation": {
                        "type": "object",
                        "required": ["it", "en"],
                        "properties": { "it": text, "en": text },
                    },
                    "note": text,
                    "closed_at": date_time,
                    "closed_by": text,
                    "updated_at": date_time,
                },
            }),
        ),
        (
            "ReconciliationPage",
            json!({
                "type": "object",
                "required": ["items", "next", "totals"],
                "properties": {
                    "items": { "type": "array", "items": schema("ReconciliationItem") },
                    "next": { "type": ["string", "null"] },
                    "totals": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["class", "count", "amount"],
                            "properties": { "class": classes, "count": { "type": "integer" }, "amount": { "type": "integer" } },
                        },
                    },
                    "last_run": { "type": ["string", "null"], "format": "date-time" },
                },
            }),
        ),
        (
            "MultiplePaymentPositionModel",
            json!({
                "type": "object",
                "required": ["paymentPositions"],
                "properties": {
                    "paymentPositions": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 100,
                        "items": schema("PaymentPositionModel"),
                    },
                },
            }),
        ),
        (
            "PayPaymentOptionModel",
            json!({
                "type": "object",
                "required": ["pspCompany", "idReceipt"],
                "properties": {
                    "paymentDate": date_time,
                    "paymentMethod": { "type": "string", "maxLength": 140 },
                    "pspCode": { "type": "string", "maxLength": 35 },
                    "pspTaxCode": { "type": "string", "maxLength": 70 },
                    "pspCompany": { "type": "string", "minLength": 1, "maxLength": 140 },
                    "idReceipt": { "type": "string", "minLength": 1, "maxLength": 140 },
                    "fee": { "type": "integer", "format": "int64", "minimum": 0, "maximum": 99_999_999 },
                },
            }),
        ),
        (
            "AlreadyPaidModel",
            json!({
                "type": "object",
                "properties": {
                    "paymentMethod": { "type": "string", "maxLength": 140, "default": "OTHER" },
                    "idReceipt": { "type": "string", "maxLength": 140 },
                },
            }),
        ),
        (
            "NotificationFeeUpdateModel",
            json!({
                "type": "object",
                "required": ["notificationFee"],
                "properties": {
                    "notificationFee": { "type": "integer", "format": "int64", "minimum": 0, "maximum": 99_999_999 },
                },
            }),
        ),
        (
            "ReissueModel",
            json!({
                "type": "object",
                "x-sportello-only": true,
                "properties": {
                    "iupd": {
                        "type": "string", "minLength": 1, "maxLength": 140,
                        "description": "The new position's IUPD; by default the old one with `-R<n>`.",
                    },
                    "dueDates": {
                        "type": "array",
                        "items": date_time,
                        "description": "New due dates, one per option in order; by default the old ones.",
                    },
                    "toPublish": { "type": "boolean", "default": false },
                },
            }),
        ),
        (
            "DebtPositionHistory",
            json!({
                "type": "object",
                "x-sportello-only": true,
                "required": ["iupd", "status", "version", "preNotices", "history"],
                "properties": {
                    "iupd": text,
                    "status": { "type": "string", "enum": V1_STATUSES },
                    "version": { "type": "integer", "format": "int64" },
                    "reissueOf": { "type": ["string", "null"] },
                    "reissuedAs": { "type": ["string", "null"] },
                    "preNotices": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["nav", "iuv"],
                            "properties": {
                                "nav": text,
                                "iuv": text,
                                "status": text,
                                "at": date_time,
                                "reason": text,
                                "messageId": text,
                                "messageStatus": text,
                                "paymentStatus": { "type": "string", "enum": ["PAID", "NOT_PAID"] },
                            },
                        },
                    },
                    "history": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["at", "version", "action", "status", "actor"],
                            "properties": {
                                "at": date_time,
                                "version": { "type": "integer", "format": "int64" },
                                "action": text,
                                "status": { "type": "string", "enum": V1_STATUSES },
                                "detail": { "type": ["string", "null"] },
                                "actor": text,
                            },
                        },
                    },
                },
            }),
        ),
        (
            "ReceiptSummary",
            json!({
                "type": "object",
                "x-sportello-only": true,
                "required": ["organizationFiscalCode", "receiptId", "issuerFiscalCode", "noticeNumber", "iuv", "effect", "amount", "ownAmount", "pspId", "channelId", "receivedAt", "version"],
                "properties": {
                    "organizationFiscalCode": text,
                    "receiptId": text,
                    "issuerFiscalCode": text,
                    "noticeNumber": text,
                    "iuv": text,
                    "effect": { "type": "string", "enum": ["APPLIED", "BENEFICIARY", "DOUBLE_PAYMENT", "FAILED"] },
                    "amount": { "type": "integer", "format": "int64" },
                    "ownAmount": { "type": "integer", "format": "int64" },
                    "pspId": text,
                    "channelId": text,
                    "fee": { "type": ["integer", "null"], "format": "int64" },
                    "paymentMethod": { "type": ["string", "null"] },
                    "paymentDateTime": { "type": ["string", "null"], "format": "date-time" },
                    "receivedAt": date_time,
                    "version": { "type": "string", "enum": ["V1", "V2"] },
                },
            }),
        ),
        (
            "ReceiptsList",
            json!({
                "type": "object",
                "x-sportello-only": true,
                "required": ["receiptsList", "pageInfo"],
                "properties": {
                    "receiptsList": { "type": "array", "items": schema("ReceiptSummary") },
                    "pageInfo": {
                        "type": "object",
                        "properties": {
                            "page": { "type": "integer" },
                            "limit": { "type": "integer" },
                            "itemsFound": { "type": "integer" },
                            "totalPages": { "type": "integer" },
                        },
                    },
                },
            }),
        ),
        (
            "ReceiptsOfIuv",
            json!({
                "type": "object",
                "x-sportello-only": true,
                "required": ["receipts"],
                "properties": {
                    "receipts": {
                        "type": "array",
                        "items": {
                            "allOf": [schema("ReceiptSummary")],
                            "description": "The summary plus everything the receipt says: description, companyName, officeName, outcome, debtor, payer, pspFiscalCode, pspCompanyName, channelDescription, applicationDate, transferDate, standIn, metadata and transfers (idTransfer, amount, fiscalCodePA, companyName, iban or stamp, remittanceInformation, transferCategory, own).",
                        },
                    },
                },
            }),
        ),
        (
            "CitizenPayments",
            json!({
                "type": "object",
                "x-sportello-only": true,
                "required": ["items"],
                "properties": {
                    "items": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["organizationFiscalCode", "companyName", "iupd", "status", "noticeUrl", "paymentOptions"],
                            "properties": {
                                "organizationFiscalCode": text,
                                "companyName": text,
                                "iupd": text,
                                "status": { "type": "string", "enum": V1_STATUSES },
                                "paymentDate": { "type": ["string", "null"], "format": "date-time" },
                                "noticeUrl": text,
                                "paymentOptions": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["nav", "description", "amount", "dueDate", "isPartialPayment", "status"],
                                        "properties": {
                                            "nav": text,
                                            "description": text,
                                            "amount": { "type": "integer", "format": "int64" },
                                            "dueDate": date_time,
                                            "isPartialPayment": { "type": "boolean" },
                                            "status": { "type": "string", "enum": ["PO_UNPAID", "PO_PAID", "PO_PARTIALLY_REPORTED", "PO_REPORTED"] },
                                            "paymentDate": { "type": ["string", "null"], "format": "date-time" },
                                            "messageId": { "type": ["string", "null"] },
                                            "receiptUrl": { "type": ["string", "null"], "description": "The receipt PDF, once the node's receipt paid the option." },
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            }),
        ),
    ]
}
