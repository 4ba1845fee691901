//! `notice-archive`: a massive notice archive built through the `notice_archive` job code on
//! SQLite, timed. Positions (single payment, platform-allocated notice numbers) are written
//! straight through the store's `Positions` port, then one archive of all of them is built by
//! `jobs::archives::build`, exactly as a worker would (without a lease to extend).
//!
//! `CARGO_TARGET_DIR=/work/target-release cargo run --release -p bench --bin notice-archive -- 100000`

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use kernel::audit::NewAuditEntry;
use kernel::jobs::{JobKind, JobsReady};
use kernel::organization::{Organization, OrganizationKind};
use kernel::ports::Organizations;
use kernel::values::OrganizationFiscalCode;
use kernel::{Clock, SystemClock};
use ops::payments::{NoticeAllocator, PayContext};
use payments::ports::{ArchiveFilter, Positions, Profile, Profiles};
use payments::values::SegregationCode;
use serde_json::json;

const ORG: &str = "00441340122";

struct NoWakeups;

impl JobsReady for NoWakeups {
    fn ready(&self, _kind: JobKind) {}
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()
        .context("the argument is the number of notices")?
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    );
    let store = Arc::new(store::SqlStore::connect(&url, 4).await?);
    store.migrate().await?;
    let clock = SystemClock;
    let org = OrganizationFiscalCode::parse(ORG).map_err(|e| anyhow::anyhow!("{e}"))?;
    store
        .create_organization(&Organization {
            fiscal_code: org.clone(),
            name: "Comune di Varese".into(),
            kind: OrganizationKind::Comune,
            ipa_code: None,
            disabled: false,
            created_at: clock.now(),
        })
        .await?;
    let profile = Profile {
        organization: org.clone(),
        segregation_codes: vec![SegregationCode::parse("01").map_err(|e| anyhow::anyhow!("{e}"))?],
        io_service: None,
        cidrs: Vec::new(),
        template: Default::default(),
        created_at: clock.now(),
    };
    let audit = NewAuditEntry {
        at: clock.now(),
        actor: "bench".into(),
        action: "payments.enable".into(),
        subject: format!("organization:{ORG}"),
        detail: json!({}),
    };
    store
        .enable_payments(&profile, "bench-primary", "bench-secondary", &audit)
        .await?;
    let notices = NoticeAllocator::new(10_000);
    let cx = PayContext {
        store: store.as_ref(),
        clock: &clock,
        jobs_ready: &NoWakeups,
        notices: &notices,
    };

    let started = Instant::now();
    let due = (clock.now() + chrono::Duration::days(60)).to_rfc3339();
    for first in (0..n).step_by(1_000) {
        let mut writes = Vec::with_capacity(1_000);
        for i in first..(first + 1_000).min(n) {
            let body = json!({
                "iupd": format!("TARI-2027-{i:07}"),
                "type": "F",
                "fiscalCode": "RSSMRA85T10A562S",
                "fullName": "Mario Rossi",
                "streetName": "Via Roma", "civicNumber": "1", "postalCode": "21100",
                "city": "Varese", "province": "VA",
                "companyName": "Comune di Varese",
                "officeName": "Ufficio Tributi",
                "switchToExpired": false,
                "paymentOption": [{
                    "amount": 10_000 + i as i64 % 50_000,
                    "description": "TARI 2027",
                    "isPartialPayment": false,
                    "dueDate": due,
                    "transfer": [{"idTransfer": "1", "amount": 10_000 + i as i64 % 50_000,
                                  "remittanceInformation": "TARI 2027", "category": "9/0101108TS/",
                                  "iban": "IT60X0542811101000000123456"}],
                }],
            });
            let draft = payments::gpd::parse_v1_with(
                &body,
                &org,
                clock.now(),
                payments::rules::DateCheck::Create,
            )
            .map_err(|e| anyhow::anyhow!("draft: {}", e.summary()))?;
            writes.push(ops::payments::prepare(cx, &profile, draft, true, "bench").await?);
        }
        store.create_positions(&writes).await?;
    }
    println!(
        "inserted {n} positions in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let archive =
        ops::notice_archives::request(cx, &org, ArchiveFilter::default(), "it", "bench").await?;
    let archive_dir = dir.path().join("archives");
    let build = jobs::archives::Build {
        store: store.as_ref(),
        clock: &clock,
        dir: &archive_dir,
        lease: None,
        threads: 0,
    };
    let started = Instant::now();
    let built = jobs::archives::build(&build, &archive.id)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let secs = started.elapsed().as_secs_f64();
    let size = std::fs::metadata(&built.path)?.len();
    println!(
        "archive of {} notices ({} left out): {:.1} s, {:.0} notices/s, {:.1} MiB ({:.1} KiB per notice), {} threads",
        built.done,
        built.failed,
        secs,
        built.done as f64 / secs,
        size as f64 / (1 << 20) as f64,
        size as f64 / 1024.0 / built.done.max(1) as f64,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    );
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average: {}", load.trim());
    }
    Ok(())
}
