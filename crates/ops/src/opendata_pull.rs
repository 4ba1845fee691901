//! Resources kept up to date from a URL: an editor names a URL and a period; when a pull is due
//! one node claims it, fetches the file into a spool file (through the installation's outbound
//! policy: internal addresses are refused unless allowed), skips it when its SHA-256 is the one
//! last loaded, and otherwise loads it as a new version of the resource, exactly as an upload
//! (a failure leaves the published version as it was). The outcome is kept on the pull.

use std::io::Read;

use chrono::Duration;
use kernel::organization::Delegate;
use opendata::model::{InputFormat, ResourceState};
use opendata::ports::{Pull, UrlFetcher};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::opendata::{LoadMode, OdContext, Upload, audit_as, load_into};
use crate::{Error, Result};

/// Who the audit log names for the loads of pulls.
pub const ACTOR: &str = "system:opendata-pull";
/// The largest file a pull fetches (as an upload).
pub const MAX_PULL_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// How long a node holds a claimed pull before another may take it (a crashed run).
const LEASE_MINUTES: i64 = 60;
/// A failed fetch is tried again after at most this long, even for a weekly pull.
const RETRY_HOURS: u32 = 1;
/// Due pulls run per round.
const PER_ROUND: u32 = 20;

/// What an editor asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullSpec {
    /// Checked by the adapter (absolute http/https, no credentials, allowed by the policy).
    pub url: String,
    pub name: String,
    pub format: Option<InputFormat>,
    /// 1 to 8,760 (a year).
    pub every_hours: u32,
}

/// Creates a pull of `dataset_id` (editors only); it is due at once.
pub async fn create_pull(
    cx: &OdContext<'_>,
    actor: &Delegate,
    dataset_id: &str,
    spec: PullSpec,
) -> Result<Pull> {
    let d = crate::opendata::editable(cx, actor, dataset_id).await?;
    if !(1..=8_760).contains(&spec.every_hours) {
        return Err(Error::invalid_field(
            "every_hours",
            "must be between 1 and 8760 (a year)",
        ));
    }
    let now = cx.clock.now();
    let pull = Pull {
        id: ulid::Ulid::new().to_string(),
        dataset_id: d.id.clone(),
        resource_id: None,
        name: spec.name,
        url: spec.url,
        format: spec.format,
        every_hours: spec.every_hours,
        next_at: now,
        last_at: None,
        last_status: None,
        last_error: None,
        last_sha256: None,
        created_by: actor.id.clone(),
        created_at: now,
    };
    let mut entry = audit_as(
        cx,
        &format!("delegate:{}", actor.id),
        "opendata.pull.create",
        &pull.id,
    );
    entry.detail = json!({"dataset_id": d.id, "every_hours": pull.every_hours});
    cx.store.create_pull(&pull, &entry).await?;
    Ok(pull)
}

/// The pulls of a dataset, for its editors (a URL may carry a token).
pub async fn pulls_of(
    cx: &OdContext<'_>,
    viewer: &Delegate,
    dataset_id: &str,
) -> Result<Vec<Pull>> {
    let d = crate::opendata::editable(cx, viewer, dataset_id).await?;
    Ok(cx.store.pulls_of(&d.id).await?)
}

/// Removes a pull (editors of its dataset); the resource it loaded stays.
pub async fn delete_pull(cx: &OdContext<'_>, actor: &Delegate, id: &str) -> Result<()> {
    let not_found = || Error::not_found("Pull not found", "No pull has this id.");
    let p = cx.store.get_pull(id).await?.ok_or_else(not_found)?;
    crate::opendata::editable(cx, actor, &p.dataset_id)
        .await
        .map_err(|_| not_found())?;
    let entry = audit_as(
        cx,
        &format!("delegate:{}", actor.id),
        "opendata.pull.delete",
        &p.id,
    );
    if cx.store.delete_pull(&p.id, &entry).await? {
        Ok(())
    } else {
        Err(not_found())
    }
}

fn sha256_of(path: &std::path::Path) -> Result<String> {
    let mut file = std::fs::File::open(path)
        .map_err(|e| Error::Internal(format!("open the fetched file: {e}")))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::Internal(format!("read the fetched file: {e}")))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Fetches and loads one claimed pull; the outcome (status, error, resource) in `p`.
async fn run_one(cx: &OdContext<'_>, fetcher: &dyn UrlFetcher, p: &mut Pull) -> Result<()> {
    let spool = tempfile::NamedTempFile::new()
        .map_err(|e| Error::Internal(format!("pull spool file: {e}")))?;
    let fetched = fetcher
        .fetch(&p.url, MAX_PULL_BYTES, spool.path())
        .await
        .map_err(Error::Unprocessable)?;
    let path = spool.path().to_owned();
    let digest = tokio::task::spawn_blocking(move || sha256_of(&path))
        .await
        .map_err(|e| Error::Internal(format!("hash task: {e}")))??;
    let resource = match &p.resource_id {
        Some(id) => cx.store.get_resource(id).await?,
        None => None,
    };
    if resource.is_some() && p.last_sha256.as_deref() == Some(digest.as_str()) {
        p.last_status = Some("unchanged".into());
        return Ok(());
    }
    let format = match p.format {
        Some(f) => f,
        None => fetched
            .media_type
            .as_deref()
            .and_then(InputFormat::from_media_type)
            .ok_or_else(|| {
                Error::unprocessable(format!(
                    "the server answered with Content-Type {:?}, which is not a table format: \
                     give the pull a format",
                    fetched.media_type.unwrap_or_default()
                ))
            })?,
    };
    let d = cx
        .store
        .get_dataset(&p.dataset_id)
        .await?
        .ok_or_else(|| Error::unprocessable("the pull's dataset no longer exists"))?;
    let mode = match resource {
        Some(r) => LoadMode::Replace(r.id),
        None => LoadMode::New(p.name.clone()),
    };
    let loaded = load_into(
        cx,
        ACTOR,
        d,
        Upload {
            path: spool.path(),
            byte_size: fetched.bytes,
            format,
            media_type: opendata::vocab::media_type(format.code()).to_owned(),
            mode,
        },
    )
    .await?;
    p.resource_id = Some(loaded.id.clone());
    p.last_sha256 = Some(digest);
    p.last_status = Some(
        if loaded.state == ResourceState::Blocked {
            "blocked"
        } else {
            "loaded"
        }
        .into(),
    );
    Ok(())
}

/// Runs the pulls due now (a bounded number per call); returns them with their outcome.
pub async fn run_due(cx: &OdContext<'_>, fetcher: &dyn UrlFetcher) -> Result<Vec<Pull>> {
    let now = cx.clock.now();
    let mut out = Vec::new();
    for mut p in cx.store.due_pulls(now, PER_ROUND).await? {
        let lease = now + Duration::minutes(LEASE_MINUTES);
        if !cx.store.claim_pull(&p.id, p.next_at, lease).await? {
            continue;
        }
        let result = run_one(cx, fetcher, &mut p).await;
        let done = cx.clock.now();
        p.last_at = Some(done);
        let wait = match &result {
            Ok(()) => {
                p.last_error = None;
                p.every_hours
            }
            Err(e) => {
                p.last_status = Some("failed".into());
                p.last_error = Some(e.to_string());
                p.every_hours.min(RETRY_HOURS)
            }
        };
        p.next_at = done + Duration::hours(i64::from(wait));
        cx.store.save_pull_run(&p).await?;
        out.push(p);
    }
    Ok(out)
}
