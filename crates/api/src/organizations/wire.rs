//! Wire types of the organizations' admin API (Sportello's own, not in the OpenAPI document).

use messaging::content::format_timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub struct OrganizationView {
    pub fiscal_code: String,
    pub name: String,
    pub kind: String,
    pub disabled: bool,
    pub created_at: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DelegateView {
    pub id: String,
    pub organization_fiscal_code: String,
    pub email: String,
    pub disabled: bool,
    pub created_at: String,
}

/// A delegate just created: the only time its manage key is shown.
pub use ops::organizations::CreatedDelegate;

impl From<&kernel::organization::Organization> for OrganizationView {
    fn from(o: &kernel::organization::Organization) -> Self {
        Self {
            fiscal_code: o.fiscal_code.to_string(),
            name: o.name.clone(),
            kind: o.kind.as_str().to_owned(),
            disabled: o.disabled,
            created_at: format_timestamp(&o.created_at),
        }
    }
}

impl From<&kernel::organization::Delegate> for DelegateView {
    fn from(d: &kernel::organization::Delegate) -> Self {
        Self {
            id: d.id.clone(),
            organization_fiscal_code: d.organization_fiscal_code.to_string(),
            email: d.email.to_string(),
            disabled: d.disabled,
            created_at: format_timestamp(&d.created_at),
        }
    }
}
