//! The monthly statistics of the platform's own data (see [`opendata::stats`]): for every ente
//! and kind, count the finished month, draw its noise once and store the release, then
//! regenerate the series' CSV from every stored release, load it into the ente's statistics
//! dataset (created on first use) and publish it. Each step can be retried: a stored release
//! is never drawn again, and one not yet shown by the resource is loaded on the next run.

use std::io::Write;

use kernel::organization::Organization;
use opendata::dp::SpendError;
use opendata::model::{DatasetState, InputFormat, ResourceState};
use opendata::ports::StatSeries;
use opendata::stats::{self, Period, Policy, StatCell, StatKind, StatRelease};
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::json;

use crate::opendata::{
    LoadMode, OdContext, Upload, audit_as, create_dataset_as, load_into, publish_as,
};
use crate::{Error, Result};

/// Who the audit log names for these releases.
pub const ACTOR: &str = "system:opendata-statistics";

/// The resource's name in each statistics dataset.
const RESOURCE_NAME: &str = "statistiche-mensili.csv";

/// What a run did for one ente and kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatOutcome {
    pub organization: String,
    pub kind: StatKind,
    pub period: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset_id: Option<String>,
    /// `released` (drawn now and published), `already-released` (drawn by an earlier run;
    /// published again if it was not yet), `budget-exhausted`, `nothing-to-count` (the ente
    /// had no service or no debt position by the month's end, or joined after it), `blocked` (the CSV has a personal-data finding
    /// an editor must resolve).
    pub status: &'static str,
    pub cells: usize,
    pub suppressed: usize,
    pub epsilon_spent: f64,
    pub budget: f64,
}

/// A CSPRNG's uniform numbers in the open interval (0, 1), for the noise.
pub fn system_uniform() -> impl FnMut() -> f64 + Send {
    let mut rng = rand::rngs::StdRng::from_os_rng();
    move || loop {
        let u: f64 = rng.random();
        if u > 0.0 {
            return u;
        }
    }
}

/// The cells of a month, fixed before looking at who contributed: every service of the ente
/// (messages) or every category of its debt positions (payments).
async fn cells_of(
    cx: &OdContext<'_>,
    org: &Organization,
    kind: StatKind,
    period: Period,
    cap: u32,
) -> Result<Vec<StatCell>> {
    let (from, to) = period.bounds();
    Ok(match kind {
        StatKind::Messages => cx
            .store
            .message_counts(&org.fiscal_code, from, to, cap)
            .await?
            .into_iter()
            .map(|s| StatCell {
                key: vec![
                    s.service_id,
                    s.name,
                    s.topic_id
                        .and_then(messaging::topics::topic_name)
                        .unwrap_or("")
                        .to_owned(),
                ],
                count: s.messages,
            })
            .collect(),
        StatKind::Payments => cx
            .store
            .payment_counts(&org.fiscal_code, from, to, cap)
            .await?
            .into_iter()
            .map(|(category, count)| StatCell {
                key: vec![category],
                count,
            })
            .collect(),
    })
}

fn meta_json(kind: StatKind, org: &Organization, policy: &Policy, spent: f64) -> serde_json::Value {
    let topic = match kind {
        StatKind::Messages => "messaggi",
        StatKind::Payments => "pagamenti",
    };
    json!({
        "title": stats::title(kind, &org.name),
        "description": stats::description(kind, policy, spent),
        "themes": ["GOVE"],
        "frequency": "MONTHLY",
        "license": "A21_CCBY40",
        "keywords": ["statistiche", "privacy differenziale", topic],
    })
}

/// A new series of `org` and `kind`, with its dataset.
async fn new_series(cx: &OdContext<'_>, org: &Organization, kind: StatKind) -> Result<StatSeries> {
    let policy = Policy::default_for(kind);
    let meta =
        opendata::meta::parse(&meta_json(kind, org, &policy, 0.0)).map_err(Error::invalid)?;
    let dataset = create_dataset_as(cx, ACTOR, org, meta).await?;
    cx.store
        .save_stat_series(&StatSeries {
            organization: org.fiscal_code.clone(),
            kind,
            dataset_id: dataset.id,
            resource_id: None,
            policy,
        })
        .await?;
    // Another node may have created the series at the same time: the stored one wins (the
    // other draft dataset stays an unpublished draft).
    cx.store
        .stat_series(&org.fiscal_code, kind)
        .await?
        .ok_or_else(|| Error::Internal("a saved statistics series is not found".into()))
}

/// Loads the series' CSV (every release) into its resource, updates the description's budget
/// figures and publishes the dataset. `false` when a personal-data finding blocks it.
async fn publish_series(
    cx: &OdContext<'_>,
    org: &Organization,
    series: &mut StatSeries,
    releases: &[StatRelease],
) -> Result<bool> {
    let csv = stats::render_csv(series.kind, releases);
    let mut file = tempfile::NamedTempFile::new()
        .map_err(|e| Error::Internal(format!("statistics spool file: {e}")))?;
    file.write_all(csv.as_bytes())
        .and_then(|()| file.flush())
        .map_err(|e| Error::Internal(format!("statistics spool file: {e}")))?;
    let mut d = cx
        .store
        .get_dataset(&series.dataset_id)
        .await?
        .ok_or_else(|| Error::Internal("a statistics series' dataset is missing".into()))?;
    // The description states what has been spent, so it is rewritten first.
    let spent = stats::spent(releases);
    d.meta = opendata::meta::parse(&meta_json(series.kind, org, &series.policy, spent))
        .map_err(Error::invalid)?;
    d.modified_at = cx.clock.now();
    cx.store
        .update_dataset(&d, &audit_as(cx, ACTOR, "opendata.dataset.update", &d.id))
        .await?;
    let existing = match &series.resource_id {
        Some(id) => cx.store.get_resource(id).await?.map(|r| r.id),
        None => None,
    };
    let mode = match existing {
        Some(id) => LoadMode::Replace(id),
        None => LoadMode::New(RESOURCE_NAME.to_owned()),
    };
    let resource = load_into(
        cx,
        ACTOR,
        d.clone(),
        Upload {
            path: file.path(),
            byte_size: csv.len() as u64,
            format: InputFormat::Csv,
            media_type: "text/csv".to_owned(),
            mode,
        },
    )
    .await?;
    if series.resource_id.as_deref() != Some(resource.id.as_str()) {
        series.resource_id = Some(resource.id.clone());
        cx.store.save_stat_series(series).await?;
    }
    if resource.state == ResourceState::Blocked {
        return Ok(false);
    }
    let d = cx.store.get_dataset(&d.id).await?.unwrap_or(d);
    if d.state != DatasetState::Published && publish_as(cx, ACTOR, d).await?.is_err() {
        return Ok(false);
    }
    Ok(true)
}

async fn release_one(
    cx: &OdContext<'_>,
    org: &Organization,
    kind: StatKind,
    period: Period,
    uniform: &mut (dyn FnMut() -> f64 + Send),
) -> Result<StatOutcome> {
    let existing = cx.store.stat_series(&org.fiscal_code, kind).await?;
    let policy = existing
        .as_ref()
        .map_or_else(|| Policy::default_for(kind), |s| s.policy);
    // A policy is changed in the database only: a bad one is refused here, by name.
    policy.check().map_err(|e| {
        Error::Internal(format!(
            "the {} statistics policy of {} is invalid: {e}",
            kind.as_str(),
            org.fiscal_code.as_str()
        ))
    })?;
    let cells = cells_of(cx, org, kind, period, policy.cap).await?;
    let mut outcome = StatOutcome {
        organization: org.fiscal_code.as_str().to_owned(),
        kind,
        period: period.to_string(),
        dataset_id: None,
        status: "nothing-to-count",
        cells: 0,
        suppressed: 0,
        epsilon_spent: 0.0,
        budget: policy.budget,
    };
    // A month that ended before the ente joined has nothing of it (and the ente's join date
    // is public, so skipping says nothing about anyone).
    if org.created_at >= period.bounds().1 || (cells.is_empty() && existing.is_none()) {
        return Ok(outcome);
    }
    let mut series = match existing {
        Some(s) => s,
        None => new_series(cx, org, kind).await?,
    };
    outcome.dataset_id = Some(series.dataset_id.clone());
    let mut releases = cx.store.stat_releases(&series.dataset_id).await?;
    let release = match releases.iter().find(|r| r.period == period) {
        Some(r) => {
            outcome.status = "already-released";
            r.clone()
        }
        None => match stats::fits_budget(&series.policy, &releases) {
            Err(SpendError::Exhausted(_)) => {
                outcome.status = "budget-exhausted";
                outcome.epsilon_spent = stats::spent(&releases);
                return Ok(outcome);
            }
            Err(SpendError::Invalid(e)) => return Err(Error::Internal(e.to_string())),
            Ok(()) => {
                let drawn = stats::draw(
                    &series.dataset_id,
                    period,
                    &cells,
                    &series.policy,
                    cx.clock.now(),
                    &mut &mut *uniform,
                )
                .map_err(|e| Error::Internal(e.to_string()))?;
                let mut entry =
                    audit_as(cx, ACTOR, "opendata.statistics.release", &series.dataset_id);
                entry.detail = json!({"period": period.to_string(), "kind": kind.as_str(),
                    "epsilon": drawn.epsilon, "cells": drawn.values.len()});
                if cx.store.insert_stat_release(&drawn, &entry).await? {
                    outcome.status = "released";
                } else {
                    outcome.status = "already-released";
                }
                releases = cx.store.stat_releases(&series.dataset_id).await?;
                releases
                    .iter()
                    .find(|r| r.period == period)
                    .cloned()
                    .ok_or_else(|| Error::Internal("a stored release is not found".into()))?
            }
        },
    };
    outcome.cells = release.values.len();
    outcome.suppressed = release.values.iter().filter(|(_, v)| v.is_none()).count();
    outcome.epsilon_spent = stats::spent(&releases);
    outcome.budget = series.policy.budget;
    let resource_missing = match &series.resource_id {
        Some(id) => cx.store.get_resource(id).await?.is_none(),
        None => true,
    };
    if releases.iter().any(|r| !r.loaded) || resource_missing {
        if !publish_series(cx, org, &mut series, &releases).await? {
            outcome.status = "blocked";
            return Ok(outcome);
        }
        for r in releases.iter().filter(|r| !r.loaded) {
            cx.store
                .mark_stat_release_loaded(&r.dataset_id, r.period)
                .await?;
        }
    }
    Ok(outcome)
}

/// Releases `period` (a finished month) for every enabled ente and both kinds.
pub async fn release_month(
    cx: &OdContext<'_>,
    period: Period,
    uniform: &mut (dyn FnMut() -> f64 + Send),
) -> Result<Vec<StatOutcome>> {
    if !period.is_over(cx.clock.now()) {
        return Err(Error::unprocessable(format!(
            "the month {period} is not over yet: only a finished month is released"
        )));
    }
    // One run at a time in this process: two would race on the same resource's next version.
    static RUN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one = RUN.lock().await;
    let mut out = Vec::new();
    for org in cx.store.list_organizations().await? {
        if org.disabled {
            continue;
        }
        for kind in StatKind::ALL {
            out.push(release_one(cx, &org, kind, period, uniform).await?);
        }
    }
    Ok(out)
}
