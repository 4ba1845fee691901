//! GPD's schemas as Sportello serves them: those of `gpd.json`, `gpd_v3.json` and
//! `orgs_payment_options.json` (same names, same bounds), with Sportello's deliberate
//! differences marked `x-sportello` on the property: `iuv`/`nav` optional on create (allocated),
//! check digits verified on IBANs and fiscal codes (the reference's patterns kept), and
//! RFC 7807 fields in `ProblemJson`. `tests/openapi_gpd.rs` compares them with the references.

use serde_json::{Value, json};

/// GPD's schemas by name, in the order of the reference files.
pub fn gpd() -> Vec<(&'static str, Value)> {
    vec![
        (
            "PaymentOptionMetadataModel",
            payment_option_metadata_model(),
        ),
        ("PaymentOptionModel", payment_option_model()),
        ("PaymentPositionModel", payment_position_model()),
        ("Stamp", stamp()),
        ("TransferMetadataModel", transfer_metadata_model()),
        ("TransferModel", transfer_model()),
        ("ProblemJson", problem_json()),
        (
            "PaymentOptionMetadataModelResponse",
            payment_option_metadata_model_response(),
        ),
        (
            "TransferMetadataModelResponse",
            transfer_metadata_model_response(),
        ),
        ("TransferModelResponse", transfer_model_response()),
        (
            "UpdateTransferIbanMassiveModel",
            update_transfer_iban_massive_model(),
        ),
        (
            "UpdateTransferIbanMassiveResponse",
            update_transfer_iban_massive_response(),
        ),
        ("PageInfo", page_info()),
        (
            "PaymentOptionModelResponse",
            payment_option_model_response(),
        ),
        (
            "PaymentPositionModelBaseResponse",
            payment_position_model_base_response(),
        ),
        ("PaymentPositionsInfo", payment_positions_info()),
        ("AppInfo", app_info()),
        ("DebtorModel", debtor_model()),
        ("InstallmentMetadataModel", installment_metadata_model()),
        ("InstallmentModel", installment_model()),
        ("PaymentOptionModelV3", payment_option_model_v3()),
        ("PaymentPositionModelV3", payment_position_model_v3()),
        ("InstallmentModelResponse", installment_model_response()),
        (
            "PaymentOptionModelResponseV3",
            payment_option_model_response_v3(),
        ),
        (
            "PaymentPositionModelResponseV3",
            payment_position_model_response_v3(),
        ),
        ("PaymentPositionsInfoV3", payment_positions_info_v3()),
        ("EnumInstallment", enum_installment()),
        ("EnumPo", enum_po()),
        ("Installment", installment()),
        ("PaymentOption", payment_option()),
        ("PaymentOptionsResponse", payment_options_response()),
        ("InvalidParam", invalid_param()),
    ]
}

/// One field at fault in a `ProblemJson` (Sportello's).
fn invalid_param() -> Value {
    json!({
        "type": "object",
        "required": ["name", "reason"],
        "properties": {
            "name": { "type": "string", "description": "The field: a JSON path in the body, or a query parameter." },
            "reason": { "type": "string", "description": "Why it is at fault (never echoes the value)." }
        },
        "x-sportello": "added"
    })
}

/// GPD's `PaymentOptionMetadataModel`.
fn payment_option_metadata_model() -> Value {
    json!({
        "required": [
            "key",
            "value"
        ],
        "type": "object",
        "properties": {
            "key": {
                "maxLength": 140,
                "minLength": 0,
                "type": "string"
            },
            "value": {
                "maxLength": 140,
                "minLength": 0,
                "type": "string"
            }
        },
        "description": "it can added a maximum of 10 key-value pairs for metadata"
    })
}

/// GPD's `PaymentOptionModel`.
fn payment_option_model() -> Value {
    json!({
        "required": [
            "amount",
            "description",
            "dueDate",
            "isPartialPayment"
        ],
        "type": "object",
        "properties": {
            "nav": {
                "type": "string",
                "description": "Optional in Sportello: when both `iuv` and `nav` are absent, Sportello allocates them from the organization's IUV base and segregation code (returned in the response). When given, the check digits are verified.",
                "x-sportello": "optional: allocated when absent"
            },
            "iuv": {
                "type": "string",
                "description": "Optional in Sportello: when both `iuv` and `nav` are absent, Sportello allocates them from the organization's IUV base and segregation code (returned in the response). When given, the check digits are verified.",
                "x-sportello": "optional: allocated when absent"
            },
            "amount": {
                "minimum": 1,
                "type": "integer",
                "format": "int64"
            },
            "description": {
                "maxLength": 140,
                "minLength": 0,
                "type": "string"
            },
            "isPartialPayment": {
                "type": "boolean"
            },
            "dueDate": {
                "type": "string",
                "format": "date-time"
            },
            "retentionDate": {
                "type": "string",
                "format": "date-time"
            },
            "fee": {
                "type": "integer",
                "format": "int64"
            },
            "notificationFee": {
                "type": "integer",
                "format": "int64",
                "readOnly": true
            },
            "transfer": {
                "type": "array",
                "items": {
                    "$ref": "#/components/schemas/TransferModel"
                }
            },
            "paymentOptionMetadata": {
                "maxItems": 10,
                "minItems": 0,
                "type": "array",
                "description": "it can added a maximum of 10 key-value pairs for metadata",
                "items": {
                    "$ref": "#/components/schemas/PaymentOptionMetadataModel"
                }
            }
        }
    })
}

/// GPD's `PaymentPositionModel`.
fn payment_position_model() -> Value {
    json!({
        "required": [
            "companyName",
            "fiscalCode",
            "fullName",
            "iupd",
            "switchToExpired",
            "type"
        ],
        "type": "object",
        "properties": {
            "iupd": {
                "type": "string"
            },
            "type": {
                "type": "string",
                "enum": [
                    "F",
                    "G"
                ]
            },
            "payStandIn": {
                "type": "boolean",
                "description": "feature flag to enable a debt position in stand-in mode",
                "default": true
            },
            "fiscalCode": {
                "type": "string",
                "description": "The debtor's fiscal code: for `type` F a personal fiscal code (Sportello verifies its check character and omocodia), for G an organization fiscal code (Sportello verifies the check digit).",
                "x-sportello": "check characters verified"
            },
            "fullName": {
                "type": "string"
            },
            "streetName": {
                "type": "string"
            },
            "civicNumber": {
                "type": "string"
            },
            "postalCode": {
                "type": "string"
            },
            "city": {
                "type": "string"
            },
            "province": {
                "type": "string"
            },
            "region": {
                "type": "string"
            },
            "country": {
                "pattern": "[A-Z]{2}",
                "type": "string"
            },
            "email": {
                "type": "string"
            },
            "phone": {
                "type": "string"
            },
            "switchToExpired": {
                "type": "boolean",
                "description": "feature flag to enable the debt position to expire after the due date",
                "default": false
            },
            "companyName": {
                "maxLength": 140,
                "minLength": 0,
                "type": "string"
            },
            "officeName": {
                "maxLength": 140,
                "minLength": 0,
                "type": "string"
            },
            "validityDate": {
                "type": "string",
                "format": "date-time"
            },
            "paymentDate": {
                "type": "string",
                "format": "date-time",
                "readOnly": true
            },
            "status": {
                "type": "string",
                "readOnly": true,
                "enum": [
                    "DRAFT",
                    "PUBLISHED",
                    "VALID",
                    "INVALID",
                    "EXPIRED",
                    "PARTIALLY_PAID",
                    "PAID",
                    "REPORTED"
                ]
            },
            "paymentOption": {
                "type": "array",
                "items": {
                    "$ref": "#/components/schemas/PaymentOptionModel"
                }
            }
        }
    })
}

/// GPD's `Stamp`.
fn stamp() -> Value {
    json!({
        "required": [
            "hashDocument",
            "provincialResidence",
            "stampType"
        ],
        "type": "object",
        "properties": {
            "hashDocument": {
                "maxLength": 72,
                "minLength": 0,
                "type": "string",
                "description": "Document hash type is stBase64Binary72 as described in https://github.com/pagopa/pagopa-api."
            },
            "stampType": {
                "maxLength": 2,
                "minLength": 2,
                "type": "string",
                "description": "The type of the stamp"
            },
            "provincialResidence": {
                "pattern": "[A-Z]{2}",
                "type": "string",
                "description": "The provincial of the residence"
            }
        }
    })
}

/// GPD's `TransferMetadataModel`.
fn transfer_metadata_model() -> Value {
    json!({
        "required": [
            "key",
            "value"
        ],
        "type": "object",
        "properties": {
            "key": {
                "maxLength": 140,
                "minLength": 0,
                "type": "string"
            },
            "value": {
                "maxLength": 140,
                "minLength": 0,
                "type": "string"
            }
        },
        "description": "it can added a maximum of 10 key-value pairs for metadata"
    })
}

/// GPD's `TransferModel`.
fn transfer_model() -> Value {
    json!({
        "required": [
            "amount",
            "category",
            "idTransfer",
            "remittanceInformation"
        ],
        "type": "object",
        "properties": {
            "idTransfer": {
                "type": "string",
                "enum": [
                    "1",
                    "2",
                    "3",
                    "4",
                    "5"
                ]
            },
            "amount": {
                "minimum": 1,
                "type": "integer",
                "format": "int64"
            },
            "organizationFiscalCode": {
                "type": "string",
                "description": "Fiscal code related to the organization targeted by this transfer."
            },
            "remittanceInformation": {
                "maxLength": 140,
                "minLength": 0,
                "type": "string"
            },
            "category": {
                "type": "string"
            },
            "iban": {
                "maxLength": 35,
                "minLength": 1,
                "pattern": "^[A-Za-z0-9]{1,35}$",
                "type": "string",
                "description": "Mutually exclusive with stamp. Sportello also verifies the IBAN's mod-97 check digits.",
                "x-sportello": "mod-97 checked"
            },
            "postalIban": {
                "maxLength": 35,
                "minLength": 1,
                "pattern": "^$|^[A-Za-z0-9]{1,35}$",
                "type": "string",
                "description": "Optional; can be combined with iban but not with stamp. Sportello also verifies the mod-97 check digits.",
                "x-sportello": "mod-97 checked"
            },
            "stamp": {
                "$ref": "#/components/schemas/Stamp"
            },
            "companyName": {
                "maxLength": 140,
                "minLength": 0,
                "type": "string"
            },
            "transferMetadata": {
                "maxItems": 10,
                "minItems": 0,
                "type": "array",
                "description": "it can added a maximum of 10 key-value pairs for metadata",
                "items": {
                    "$ref": "#/components/schemas/TransferMetadataModel"
                }
            }
        }
    })
}

/// GPD's `ProblemJson`.
fn problem_json() -> Value {
    json!({
        "type": "object",
        "properties": {
            "type": {
                "type": "string",
                "format": "uri",
                "default": "about:blank",
                "x-sportello": "RFC 7807 field, added"
            },
            "title": {
                "type": "string",
                "description": "A short, summary of the problem type. Written in english and readable for engineers (usually not suited for non technical stakeholders and not localized); example: Service Unavailable"
            },
            "status": {
                "maximum": 600,
                "minimum": 100,
                "type": "integer",
                "description": "The HTTP status code generated by the origin server for this occurrence of the problem.",
                "format": "int32"
            },
            "detail": {
                "type": "string",
                "description": "A human readable explanation specific to this occurrence of the problem."
            },
            "instance": {
                "type": "string",
                "format": "uri",
                "x-sportello": "RFC 7807 field, added"
            },
            "invalid_params": {
                "type": "array",
                "description": "Sportello only: on validation errors, every field at fault (a JSON path in the body, or the query parameter).",
                "items": {
                    "$ref": "#/components/schemas/InvalidParam"
                },
                "x-sportello": "added"
            }
        },
        "description": "RFC 7807 problem, sent as `application/problem+json` (GPD says `application/json`)."
    })
}

/// GPD's `PaymentOptionMetadataModelResponse`.
fn payment_option_metadata_model_response() -> Value {
    json!({
        "type": "object",
        "properties": {
            "key": {
                "type": "string"
            },
            "value": {
                "type": "string"
            }
        }
    })
}

/// GPD's `TransferMetadataModelResponse`.
fn transfer_metadata_model_response() -> Value {
    json!({
        "type": "object",
        "properties": {
            "key": {
                "type": "string"
            },
            "value": {
                "type": "string"
            }
        }
    })
}

/// GPD's `TransferModelResponse`.
fn transfer_model_response() -> Value {
    json!({
        "type": "object",
        "properties": {
            "organizationFiscalCode": {
                "type": "string"
            },
            "companyName": {
                "type": "string"
            },
            "idTransfer": {
                "type": "string"
            },
            "amount": {
                "type": "integer",
                "format": "int64"
            },
            "remittanceInformation": {
                "type": "string"
            },
            "category": {
                "type": "string"
            },
            "iban": {
                "type": "string"
            },
            "postalIban": {
                "type": "string"
            },
            "stamp": {
                "$ref": "#/components/schemas/Stamp"
            },
            "insertedDate": {
                "type": "string",
                "format": "date-time"
            },
            "status": {
                "type": "string",
                "enum": [
                    "T_UNREPORTED",
                    "T_REPORTED"
                ]
            },
            "lastUpdatedDate": {
                "type": "string",
                "format": "date-time"
            },
            "transferMetadata": {
                "type": "array",
                "items": {
                    "$ref": "#/components/schemas/TransferMetadataModelResponse"
                }
            }
        }
    })
}

/// GPD's `UpdateTransferIbanMassiveModel`.
fn update_transfer_iban_massive_model() -> Value {
    json!({
        "required": [
            "newIban"
        ],
        "type": "object",
        "properties": {
            "newIban": {
                "type": "string"
            }
        }
    })
}

/// GPD's `UpdateTransferIbanMassiveResponse`.
fn update_transfer_iban_massive_response() -> Value {
    json!({
        "type": "object",
        "properties": {
            "description": {
                "type": "string"
            },
            "updatedTransfers": {
                "type": "integer",
                "format": "int32"
            }
        }
    })
}

/// GPD's `PageInfo`.
fn page_info() -> Value {
    json!({
        "required": [
            "items_found",
            "limit",
            "page",
            "total_pages"
        ],
        "type": "object",
        "properties": {
            "page": {
                "type": "integer",
                "description": "Page number",
                "format": "int32"
            },
            "limit": {
                "type": "integer",
                "description": "Required number of items per page",
                "format": "int32"
            },
            "items_found": {
                "type": "integer",
                "description": "Number of items found. (The last page may have fewer elements than required)",
                "format": "int32"
            },
            "total_pages": {
                "type": "integer",
                "description": "Total number of pages",
                "format": "int32"
            }
        }
    })
}

/// GPD's `PaymentOptionModelResponse`.
fn payment_option_model_response() -> Value {
    json!({
        "type": "object",
        "properties": {
            "nav": {
                "type": "string"
            },
            "iuv": {
                "type": "string"
            },
            "organizationFiscalCode": {
                "type": "string"
            },
            "amount": {
                "type": "integer",
                "format": "int64"
            },
            "description": {
                "type": "string"
            },
            "isPartialPayment": {
                "type": "boolean"
            },
            "dueDate": {
                "type": "string",
                "format": "date-time"
            },
            "retentionDate": {
                "type": "string",
                "format": "date-time"
            },
            "paymentDate": {
                "type": "string",
                "format": "date-time"
            },
            "reportingDate": {
                "type": "string",
                "format": "date-time"
            },
            "insertedDate": {
                "type": "string",
                "format": "date-time"
            },
            "paymentMethod": {
                "type": "string"
            },
            "fee": {
                "type": "integer",
                "format": "int64"
            },
            "notificationFee": {
                "type": "integer",
                "format": "int64"
            },
            "pspCompany": {
                "type": "string"
            },
            "idReceipt": {
                "type": "string"
            },
            "idFlowReporting": {
                "type": "string"
            },
            "status": {
                "type": "string",
                "enum": [
                    "PO_UNPAID",
                    "PO_PAID",
                    "PO_PARTIALLY_REPORTED",
                    "PO_REPORTED"
                ]
            },
            "lastUpdatedDate": {
                "type": "string",
                "format": "date-time"
            },
            "paymentOptionMetadata": {
                "type": "array",
                "items": {
                    "$ref": "#/components/schemas/PaymentOptionMetadataModelResponse"
                }
            },
            "transfer": {
                "type": "array",
                "items": {
                    "$ref": "#/components/schemas/TransferModelResponse"
                }
            }
        }
    })
}

/// GPD's `PaymentPositionModelBaseResponse`.
fn payment_position_model_base_response() -> Value {
    json!({
        "type": "object",
        "properties": {
            "iupd": {
                "type": "string"
            },
            "organizationFiscalCode": {
                "type": "string"
            },
            "type": {
                "type": "string",
                "enum": [
                    "F",
                    "G"
                ]
            },
            "companyName": {
                "type": "string"
            },
            "officeName": {
                "type": "string"
            },
            "insertedDate": {
                "type": "string",
                "format": "date-time"
            },
            "publishDate": {
                "type": "string",
                "format": "date-time"
            },
            "validityDate": {
                "type": "string",
                "format": "date-time"
            },
            "paymentDate": {
                "type": "string",
                "format": "date-time"
            },
            "status": {
                "type": "string",
                "enum": [
                    "DRAFT",
                    "PUBLISHED",
                    "VALID",
                    "INVALID",
                    "EXPIRED",
                    "PARTIALLY_PAID",
                    "PAID",
                    "REPORTED"
                ]
            },
            "lastUpdatedDate": {
                "type": "string",
                "format": "date-time"
            },
            "paymentOption": {
                "type": "array",
                "items": {
                    "$ref": "#/components/schemas/PaymentOptionModelResponse"
                }
            }
        }
    })
}

/// GPD's `PaymentPositionsInfo`.
fn payment_positions_info() -> Value {
    json!({
        "required": [
            "page_info",
            "payment_position_list"
        ],
        "type": "object",
        "properties": {
            "payment_position_list": {
                "type": "array",
                "items": {
                    "$ref": "#/components/schemas/PaymentPositionModelBaseResponse"
                }
            },
            "page_info": {
                "$ref": "#/components/schemas/PageInfo"
            }
        }
    })
}

/// GPD's `AppInfo`.
fn app_info() -> Value {
    json!({
        "type": "object",
        "properties": {
            "name": {
                "type": "string"
            },
            "version": {
                "type": "string"
            },
            "environment": {
                "type": "string"
            }
        }
    })
}

/// GPD's `DebtorModel`.
fn debtor_model() -> Value {
    json!({
        "required": [
            "fiscalCode",
            "fullName",
            "type"
        ],
        "type": "object",
        "properties": {
            "type": {
                "enum": [
                    "F",
                    "G"
                ],
                "type": "string"
            },
            "fiscalCode": {
                "type": "string",
                "description": "The debtor's fiscal code: for `type` F a personal fiscal code (Sportello verifies its check character and omocodia), for G an organization fiscal code (Sportello verifies the check digit).",
                "x-sportello": "check characters verified"
            },
            "fullName": {
                "type": "string"
            },
            "streetName": {
                "type": "string"
            },
            "civicNumber": {
                "type": "string"
            },
            "postalCode": {
                "type": "string"
            },
            "city": {
                "type": "string"
            },
            "province": {
                "type": "string"
            },
            "region": {
                "type": "string"
            },
            "country": {
                "pattern": "[A-Z]{2}",
                "type": "string"
            },
            "email": {
                "type": "string"
            },
            "phone": {
                "type": "string"
            }
        }
    })
}

/// GPD's `InstallmentMetadataModel`.
fn installment_metadata_model() -> Value {
    json!({
        "required": [
            "key"
        ],
        "type": "object",
        "properties": {
            "key": {
                "type": "string"
            },
            "value": {
                "type": "string"
            }
        }
    })
}

/// GPD's `InstallmentModel`.
fn installment_model() -> Value {
    json!({
        "required": [
            "amount",
            "description",
            "dueDate"
        ],
        "type": "object",
        "properties": {
            "nav": {
                "type": "string",
                "description": "Optional in Sportello: when both `iuv` and `nav` are absent, Sportello allocates them from the organization's IUV base and segregation code (returned in the response). When given, the check digits are verified.",
                "x-sportello": "optional: allocated when absent"
            },
            "iuv": {
                "type": "string",
                "description": "Optional in Sportello: when both `iuv` and `nav` are absent, Sportello allocates them from the organization's IUV base and segregation code (returned in the response). When given, the check digits are verified.",
                "x-sportello": "optional: allocated when absent"
            },
            "amount": {
                "minimum": 1,
                "type": "integer",
                "format": "int64"
            },
            "description": {
                "maxLength": 140,
                "minLength": 0,
                "type": "string"
            },
            "dueDate": {
                "type": "string",
                "format": "date-time"
            },
            "fee": {
                "type": "integer",
                "format": "int64",
                "readOnly": true
            },
            "notificationFee": {
                "type": "integer",
                "format": "int64",
                "readOnly": true
            },
            "status": {
                "enum": [
                    "UNPAID",
                    "PAID",
                    "PARTIALLY_REPORTED",
                    "REPORTED",
                    "UNPAYABLE",
                    "EXPIRED"
                ],
                "type": "string",
                "readOnly": true
            },
            "transfer": {
                "maxItems": 2147483647,
                "minItems": 1,
                "type": "array",
                "items": {
                    "$ref": "#/components/schemas/TransferModel"
                }
            },
            "installmentMetadata": {
                "maxItems": 10,
                "minItems": 0,
                "type": "array",
                "items": {
                    "$ref": "#/components/schemas/InstallmentMetadataModel"
                },
                "description": "it can added a maximum of 10 key-value pairs for metadata"
            }
        }
    })
}

/// GPD's `PaymentOptionModelV3`.
fn payment_option_model_v3() -> Value {
    json!({
        "required": [
            "debtor",
            "installments",
            "switchToExpired"
        ],
        "type": "object",
        "properties": {
            "description": {
                "maxLength": 140,
                "minLength": 0,
                "type": "string",
                "writeOnly": true
            },
            "validityDate": {
                "type": "string",
                "format": "date-time"
            },
            "retentionDate": {
                "type": "string",
                "format": "date-time"
            },
            "switchToExpired": {
                "type": "boolean",
                "description": "feature flag to enable the payment option to expire after the due date",
                "default": false
            },
            "debtor": {
                "$ref": "#/components/schemas/DebtorModel"
            },
            "installments": {
                "maxItems": 100,
                "minItems": 1,
                "type": "array",
                "items": {
                    "$ref": "#/components/schemas/InstallmentModel"
                }
            }
        }
    })
}

/// GPD's `PaymentPositionModelV3`.
fn payment_position_model_v3() -> Value {
    json!({
        "required": [
            "companyName",
            "iupd",
            "paymentOption"
        ],
        "type": "object",
        "properties": {
            "iupd": {
                "type": "string"
            },
            "payStandIn": {
                "type": "boolean",
                "description": "feature flag to enable a debt position in stand-in mode",
                "default": true
            },
            "companyName": {
                "maxLength": 140,
                "minLength": 0,
                "type": "string"
            },
            "officeName": {
                "maxLength": 140,
                "minLength": 0,
                "type": "string"
            },
            "paymentDate": {
                "type": "string",
                "format": "date-time",
                "readOnly": true
            },
            "status": {
                "enum": [
                    "DRAFT",
                    "PUBLISHED",
                    "VALID",
                    "UNPAYABLE",
                    "PARTIALLY_PAID",
                    "PAID"
                ],
                "type": "string",
                "readOnly": true
            },
            "paymentOption": {
                "maxItems": 100,
                "minItems": 1,
                "type": "array",
                "items": {
                    "$ref": "#/components/schemas/PaymentOptionModelV3"
                }
            }
        }
    })
}

/// GPD's `InstallmentModelResponse`.
fn installment_model_response() -> Value {
    json!({
        "type": "object",
        "properties": {
            "nav": {
                "type": "string"
            },
            "iuv": {
                "type": "string"
            },
            "organizationFiscalCode": {
                "type": "string"
            },
            "amount": {
                "type": "integer",
                "format": "int64"
            },
            "description": {
                "type": "string"
            },
            "dueDate": {
                "type": "string",
                "format": "date-time"
            },
            "paymentDate": {
                "type": "string",
                "format": "date-time"
            },
            "reportingDate": {
                "type": "string",
                "format": "date-time"
            },
            "paymentMethod": {
                "type": "string"
            },
            "pspCompany": {
                "type": "string"
            },
            "fee": {
                "type": "integer",
                "format": "int64"
            },
            "notificationFee": {
                "type": "integer",
                "format": "int64"
            },
            "idReceipt": {
                "type": "string"
            },
            "idFlowReporting": {
                "type": "string"
            },
            "status": {
                "enum": [
                    "UNPAID",
                    "PAID",
                    "PARTIALLY_REPORTED",
                    "REPORTED",
                    "UNPAYABLE",
                    "EXPIRED"
                ],
                "type": "string"
            },
            "lastUpdatedDate": {
                "type": "string",
                "format": "date-time"
            },
            "installmentMetadata": {
                "type": "array",
                "items": {
                    "$ref": "#/components/schemas/InstallmentMetadataModel"
                }
            },
            "transfer": {
                "type": "array",
                "items": {
                    "$ref": "#/components/schemas/TransferModelResponse"
                }
            }
        }
    })
}

/// GPD's `PaymentOptionModelResponseV3`.
fn payment_option_model_response_v3() -> Value {
    json!({
        "type": "object",
        "properties": {
            "switchToExpired": {
                "type": "boolean"
            },
            "retentionDate": {
                "type": "string",
                "format": "date-time"
            },
            "insertedDate": {
                "type": "string",
                "format": "date-time"
            },
            "validityDate": {
                "type": "string",
                "format": "date-time"
            },
            "debtor": {
                "$ref": "#/components/schemas/DebtorModel"
            },
            "installments": {
                "type": "array",
                "items": {
                    "$ref": "#/components/schemas/InstallmentModelResponse"
                }
            }
        }
    })
}

/// GPD's `PaymentPositionModelResponseV3`.
fn payment_position_model_response_v3() -> Value {
    json!({
        "type": "object",
        "properties": {
            "iupd": {
                "type": "string"
            },
            "organizationFiscalCode": {
                "type": "string"
            },
            "companyName": {
                "type": "string"
            },
            "officeName": {
                "type": "string"
            },
            "insertedDate": {
                "type": "string",
                "format": "date-time"
            },
            "publishDate": {
                "type": "string",
                "format": "date-time"
            },
            "paymentDate": {
                "type": "string",
                "format": "date-time"
            },
            "status": {
                "enum": [
                    "DRAFT",
                    "PUBLISHED",
                    "VALID",
                    "UNPAYABLE",
                    "PARTIALLY_PAID",
                    "PAID"
                ],
                "type": "string"
            },
            "lastUpdatedDate": {
                "type": "string",
                "format": "date-time"
            },
            "paymentOption": {
                "type": "array",
                "items": {
                    "$ref": "#/components/schemas/PaymentOptionModelResponseV3"
                }
            }
        }
    })
}

/// GPD's `PaymentPositionsInfoV3`.
fn payment_positions_info_v3() -> Value {
    json!({
        "required": [
            "page_info",
            "payment_position_list"
        ],
        "type": "object",
        "properties": {
            "payment_position_list": {
                "type": "array",
                "items": {
                    "$ref": "#/components/schemas/PaymentPositionModelResponseV3"
                }
            },
            "page_info": {
                "$ref": "#/components/schemas/PageInfo"
            }
        }
    })
}

/// GPD's `EnumInstallment`.
fn enum_installment() -> Value {
    json!({
        "enum": [
            "POI_UNPAID",
            "POI_PAID",
            "POI_EXPIRED_NOT_PAYABLE",
            "POI_EXPIRED_UNPAID",
            "POI_INVALID"
        ],
        "type": "string"
    })
}

/// GPD's `EnumPo`.
fn enum_po() -> Value {
    json!({
        "enum": [
            "PO_UNPAID",
            "PO_PAID",
            "PO_PARTIALLY_PAID",
            "PO_EXPIRED_NOT_PAYABLE",
            "PO_EXPIRED_UNPAID",
            "PO_INVALID"
        ],
        "type": "string"
    })
}

/// GPD's `Installment`.
fn installment() -> Value {
    json!({
        "type": "object",
        "properties": {
            "nav": {
                "type": "string"
            },
            "iuv": {
                "type": "string"
            },
            "amount": {
                "format": "int64",
                "type": "integer"
            },
            "description": {
                "type": "string"
            },
            "dueDate": {
                "type": "string",
                "format": "date-time"
            },
            "validFrom": {
                "type": "string",
                "format": "date-time"
            },
            "status": {
                "$ref": "#/components/schemas/EnumInstallment"
            },
            "statusReason": {
                "type": "string"
            }
        }
    })
}

/// GPD's `PaymentOption`.
fn payment_option() -> Value {
    json!({
        "type": "object",
        "properties": {
            "description": {
                "type": "string"
            },
            "numberOfInstallments": {
                "format": "int32",
                "type": "integer"
            },
            "dueDate": {
                "type": "string",
                "format": "date-time"
            },
            "validFrom": {
                "type": "string",
                "format": "date-time"
            },
            "amount": {
                "format": "int64",
                "type": "integer"
            },
            "status": {
                "$ref": "#/components/schemas/EnumPo"
            },
            "statusReason": {
                "type": "string"
            },
            "allCCP": {
                "type": "boolean"
            },
            "installments": {
                "type": "array",
                "items": {
                    "$ref": "#/components/schemas/Installment"
                }
            }
        }
    })
}

/// GPD's `PaymentOptionsResponse`.
fn payment_options_response() -> Value {
    json!({
        "type": "object",
        "properties": {
            "organizationFiscalCode": {
                "type": "string"
            },
            "companyName": {
                "type": "string"
            },
            "officeName": {
                "type": "string"
            },
            "standin": {
                "type": "boolean"
            },
            "paymentOptions": {
                "type": "array",
                "items": {
                    "$ref": "#/components/schemas/PaymentOption"
                }
            }
        }
    })
}
