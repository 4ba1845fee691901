//! The payments use cases: an ente's payments set-up and keys, and its debt positions —
//! create (allocating notice numbers when the client brings none), read, list, update,
//! delete, publish, invalidate, reissue, pay, mark paid outside pagoPA, report, the
//! notification fee and the bulk IBAN change — plus the scheduled moves (validity, expiry)
//! the workers run. Messaging is reached only through jobs written with the change
//! (`pre_notice`, `option_paid`), so a crash never loses the message side of a payment.

use chrono::{DateTime, Utc};
use kernel::Clock;
use kernel::FieldErrors;
use kernel::audit::NewAuditEntry;
use kernel::jobs::{JobKind, JobsReady};
use kernel::ports::StoreError;
use kernel::values::{Cidr, NoticeNumber, OrganizationFiscalCode, ServiceId};
use payments::gpd::Draft;
use payments::model::{PaymentRecord, Position, PositionEvent, PositionId, PositionStatus};
use payments::ports::{
    CreateOutcome, KeySlot, ListFilter, NoticeTemplate, PaymentsStore, PositionJob, PositionWrite,
    Profile,
};
use payments::rules::RuleError;
use payments::values::{Iupd, SegregationCode};

use crate::{Error, Result};

/// What the payments use cases work with.
#[derive(Clone, Copy)]
pub struct PayContext<'a> {
    pub store: &'a dyn PaymentsStore,
    pub clock: &'a dyn Clock,
    pub jobs_ready: &'a dyn JobsReady,
    pub notices: &'a NoticeAllocator,
}

/// Hands out IUV bases from blocks reserved in the database sequence, so a node asks the
/// database once per block and nodes never collide. One caller at a time refills (the others
/// wait for it instead of each reserving a block). Unused bases of a block are skipped when
/// the process stops (gaps are harmless).
#[derive(Debug)]
pub struct NoticeAllocator {
    block: u64,
    range: tokio::sync::Mutex<(u64, u64)>,
}

impl NoticeAllocator {
    pub fn new(block: u64) -> Self {
        Self {
            block: block.max(1),
            range: tokio::sync::Mutex::new((0, 0)),
        }
    }

    /// `n` fresh aux-3 notice numbers with this segregation code.
    pub async fn take(
        &self,
        store: &dyn PaymentsStore,
        segregation: SegregationCode,
        n: usize,
    ) -> Result<Vec<NoticeNumber>> {
        let mut out = Vec::with_capacity(n);
        let mut r = self.range.lock().await;
        while out.len() < n {
            let take = (r.1 - r.0).min((n - out.len()) as u64);
            for base in r.0..r.0 + take {
                out.push(
                    NoticeNumber::build_aux3(segregation.get(), base).map_err(Error::internal)?,
                );
            }
            r.0 += take;
            if out.len() < n {
                let want = self.block.max((n - out.len()) as u64);
                let first = store.allocate_iuv_bases(want).await?;
                *r = (first, first + want);
            }
        }
        Ok(out)
    }
}

/// A payments key pair, in clear: shown once, when enabled or regenerated.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PaymentsKeys {
    pub primary_key: String,
    pub secondary_key: String,
}

/// Enables (or re-enables) payments for an organization: its segregation codes, the IO
/// service its pre-notices go through, and two fresh keys. Reserved segregation codes are
/// accepted and returned as warnings. Re-running it replaces the codes and both keys.
pub async fn enable(
    cx: PayContext<'_>,
    messaging: &dyn messaging::ports::Store,
    organization: &OrganizationFiscalCode,
    segregation_codes: Vec<SegregationCode>,
    io_service: Option<ServiceId>,
    cidrs: Vec<Cidr>,
    actor: &str,
) -> Result<(PaymentsKeys, Vec<String>)> {
    let now = cx.clock.now();
    if cx.store.get_organization(organization).await?.is_none() {
        return Err(Error::not_found(
            "Organization not found",
            "No organization with this fiscal code is onboarded.",
        ));
    }
    if segregation_codes.is_empty() {
        return Err(Error::invalid_field(
            "segregation_codes",
            "at least one segregation code is needed",
        ));
    }
    if let Some(id) = &io_service {
        let service = messaging.get_service(id).await?;
        if service.is_none_or(|s| &s.organization_fiscal_code != organization) {
            return Err(Error::invalid_field(
                "io_service",
                "no service of this organization has this id",
            ));
        }
    }
    let warnings = segregation_codes
        .iter()
        .filter_map(|c| c.reserved().map(|r| format!("segregation code {c} is {r}")))
        .collect();
    let template = cx
        .store
        .payments_profile(organization)
        .await?
        .map(|p| p.template)
        .unwrap_or_default();
    let profile = Profile {
        organization: organization.clone(),
        segregation_codes,
        io_service,
        cidrs,
        template,
        created_at: now,
    };
    let keys = PaymentsKeys {
        primary_key: seal::new_api_key(),
        secondary_key: seal::new_api_key(),
    };
    cx.store
        .enable_payments(
            &profile,
            &seal::key_hash(&keys.primary_key),
            &seal::key_hash(&keys.secondary_key),
            &NewAuditEntry {
                at: now,
                actor: actor.to_owned(),
                action: "payments.enable".into(),
                subject: format!("organization:{organization}"),
                detail: serde_json::json!({
                    "segregation_codes": profile.segregation_codes.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "io_service": profile.io_service.map(|s| s.to_string()),
                }),
            },
        )
        .await?;
    Ok((keys, warnings))
}

/// Replaces one payments key; returns it in clear.
pub async fn regenerate_key(
    cx: PayContext<'_>,
    organization: &OrganizationFiscalCode,
    slot: KeySlot,
    actor: &str,
) -> Result<String> {
    let key = seal::new_api_key();
    cx.store
        .set_payments_key(
            organization,
            slot,
            &seal::key_hash(&key),
            &NewAuditEntry {
                at: cx.clock.now(),
                actor: actor.to_owned(),
                action: "payments.regenerate_key".into(),
                subject: format!("organization:{organization}"),
                detail: serde_json::json!({"slot": match slot { KeySlot::Primary => "primary", KeySlot::Secondary => "secondary" }}),
            },
        )
        .await?;
    Ok(key)
}

/// Replaces the pre-notice template (every placeholder is optional).
pub async fn set_template(
    cx: PayContext<'_>,
    organization: &OrganizationFiscalCode,
    template: &NoticeTemplate,
    actor: &str,
) -> Result<()> {
    let mut errors = FieldErrors::default();
    for (name, text, max) in [
        ("subject_it", &template.subject_it, 120),
        ("subject_en", &template.subject_en, 120),
        ("markdown_it", &template.markdown_it, 10_000),
        ("markdown_en", &template.markdown_en, 10_000),
    ] {
        let n = text.chars().count();
        if n < 10 || n > max {
            errors.push(
                name,
                format!("must be 10 to {max} characters long (got {n})"),
            );
        }
    }
    errors.finish(()).map_err(Error::invalid)?;
    cx.store
        .set_payments_template(
            organization,
            template,
            &NewAuditEntry {
                at: cx.clock.now(),
                actor: actor.to_owned(),
                action: "payments.template".into(),
                subject: format!("organization:{organization}"),
                detail: serde_json::json!({}),
            },
        )
        .await?;
    Ok(())
}

fn rule(e: RuleError) -> Error {
    match e {
        RuleError::Conflict(d) => Error::Conflict(d),
        RuleError::NotFound(d) => Error::not_found("Not found", d),
        RuleError::Invalid(errors) => Error::invalid(errors),
    }
}

fn not_found() -> Error {
    Error::not_found(
        "Debt position not found",
        "The organization has no debt position with this IUPD.",
    )
}

fn notice_not_found() -> Error {
    Error::not_found(
        "Payment option not found",
        "The organization has no payment option with this IUV or notice number.",
    )
}

/// The jobs a position calls for after a change from `before` (`None` when new).
pub(crate) fn jobs_for(
    p: &Position,
    before: Option<PositionStatus>,
    profile: &Profile,
    now: DateTime<Utc>,
) -> Vec<PositionJob> {
    let mut jobs = Vec::new();
    if let Some(at) = p.next_tick()
        && (before != Some(p.status) || before.is_none())
    {
        jobs.push(PositionJob {
            kind: JobKind::PositionTick,
            subject_id: p.id.to_string(),
            due_at: at.max(now),
        });
    }
    let became_payable = p.status == PositionStatus::Valid && before != Some(PositionStatus::Valid);
    if became_payable && profile.io_service.is_some() && !p.pre_notice_targets().is_empty() {
        jobs.push(PositionJob {
            kind: JobKind::PreNotice,
            subject_id: p.id.to_string(),
            due_at: now,
        });
    }
    jobs
}

pub(crate) fn with_actor(mut events: Vec<PositionEvent>, actor: &str) -> Vec<PositionEvent> {
    for e in &mut events {
        e.actor = actor.to_owned();
    }
    events
}

pub(crate) fn wake(cx: PayContext<'_>, jobs: &[PositionJob]) {
    for j in jobs {
        if j.due_at <= cx.clock.now() {
            cx.jobs_ready.ready(j.kind);
        }
    }
}

/// Turns a parsed draft into a position ready to write: segregation codes checked, notice
/// numbers allocated, published when asked, with its history and jobs.
pub async fn prepare(
    cx: PayContext<'_>,
    profile: &Profile,
    draft: Draft,
    to_publish: bool,
    actor: &str,
) -> Result<PositionWrite> {
    draft
        .check_segregation(&profile.segregation_codes)
        .map_err(Error::invalid)?;
    let now = cx.clock.now();
    let navs = if draft.missing.is_empty() {
        Vec::new()
    } else {
        let seg = *profile
            .segregation_codes
            .first()
            .ok_or_else(|| Error::internal("profile without segregation codes"))?;
        cx.notices.take(cx.store, seg, draft.missing.len()).await?
    };
    let mut p = draft.assign(navs);
    let mut events = vec![p.created_event(now)];
    if to_publish {
        events.push(p.publish(now).map_err(rule)?);
    }
    let jobs = jobs_for(&p, None, profile, now);
    Ok(PositionWrite {
        position: p,
        event: with_actor(events, actor),
        jobs,
    })
}

fn duplicate(outcome: &CreateOutcome) -> Option<Error> {
    match outcome {
        CreateOutcome::Created => None,
        CreateOutcome::DuplicateIupd => Some(Error::Conflict(
            "the organization already has a debt position with this IUPD".into(),
        )),
        CreateOutcome::DuplicateNotice => Some(Error::Conflict(
            "the organization already has a payment option with one of these IUVs or notice numbers"
                .into(),
        )),
    }
}

/// Creates one position (GPD's create, `toPublish` optional).
pub async fn create(
    cx: PayContext<'_>,
    profile: &Profile,
    draft: Draft,
    to_publish: bool,
    actor: &str,
) -> Result<Position> {
    let write = prepare(cx, profile, draft, to_publish, actor).await?;
    let outcome = cx
        .store
        .create_positions(std::slice::from_ref(&write))
        .await?;
    let outcome = outcome
        .first()
        .cloned()
        .unwrap_or(CreateOutcome::DuplicateIupd);
    created(cx, write, outcome)
}

/// What [`create`] answers once `write` was written (by it, or by an adapter's group
/// commit) with this outcome: the position, or the conflict a duplicate is.
pub fn created(
    cx: PayContext<'_>,
    write: PositionWrite,
    outcome: CreateOutcome,
) -> Result<Position> {
    if let Some(e) = duplicate(&outcome) {
        return Err(e);
    }
    wake(cx, &write.jobs);
    Ok(write.position)
}

/// Creates up to 100 positions, all or none: every body is checked first, and an IUPD or
/// notice number already taken refuses the whole request before anything is written.
pub async fn create_many(
    cx: PayContext<'_>,
    profile: &Profile,
    drafts: Vec<Draft>,
    to_publish: bool,
    actor: &str,
) -> Result<Vec<Position>> {
    let mut writes = Vec::with_capacity(drafts.len());
    for d in drafts {
        writes.push(prepare(cx, profile, d, to_publish, actor).await?);
    }
    for w in &writes {
        if cx
            .store
            .get_position(&profile.organization, &w.position.iupd)
            .await?
            .is_some()
        {
            return Err(duplicate(&CreateOutcome::DuplicateIupd).unwrap_or_else(not_found));
        }
    }
    let outcomes = cx.store.create_positions(&writes).await?;
    if let Some(e) = outcomes.iter().find_map(duplicate) {
        return Err(e);
    }
    for w in &writes {
        wake(cx, &w.jobs);
    }
    Ok(writes.into_iter().map(|w| w.position).collect())
}

pub async fn get(
    cx: PayContext<'_>,
    organization: &OrganizationFiscalCode,
    iupd: &str,
) -> Result<Position> {
    let iupd = Iupd::parse(iupd).map_err(|_| not_found())?;
    cx.store
        .get_position(organization, &iupd)
        .await?
        .ok_or_else(not_found)
}

pub async fn by_notice(
    cx: PayContext<'_>,
    organization: &OrganizationFiscalCode,
    iuv_or_nav: &str,
) -> Result<(Position, usize)> {
    let p = cx
        .store
        .position_by_notice(organization, iuv_or_nav)
        .await?
        .ok_or_else(notice_not_found)?;
    let i = p.option_index(iuv_or_nav).ok_or_else(notice_not_found)?;
    Ok((p, i))
}

pub async fn list(
    cx: PayContext<'_>,
    organization: &OrganizationFiscalCode,
    filter: &ListFilter,
    page: i64,
    limit: i64,
) -> Result<(Vec<Position>, i64)> {
    Ok(cx
        .store
        .list_positions(organization, filter, page, limit)
        .await?)
}

/// Applies `change` to the stored position and saves it, retrying when a concurrent change
/// got there first (the change is re-decided on the fresh copy, so it never applies twice).
async fn change<F>(
    cx: PayContext<'_>,
    profile: &Profile,
    at: Locate<'_>,
    actor: &str,
    mut change: F,
) -> Result<Position>
where
    F: FnMut(&mut Position, DateTime<Utc>) -> Result<(Vec<PositionEvent>, Vec<PositionJob>)>,
{
    for _ in 0..5 {
        let mut p = at.load(cx).await?;
        let before = p.status;
        let version = p.version;
        let now = cx.clock.now();
        let (events, mut jobs) = change(&mut p, now)?;
        if events.is_empty() {
            return Ok(p); // nothing to record
        }
        jobs.extend(jobs_for(&p, Some(before), profile, now));
        let write = PositionWrite {
            position: p,
            event: with_actor(events, actor),
            jobs,
        };
        match cx.store.save_position(&write, version, None).await {
            Ok(()) => {
                wake(cx, &write.jobs);
                return Ok(write.position);
            }
            Err(StoreError::Conflict(m)) if m.contains("changed meanwhile") => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Conflict(
        "the position is being changed by someone else; try again".into(),
    ))
}

/// Which position a change loads (again, after a concurrent change).
#[derive(Clone, Copy)]
enum Locate<'a> {
    Id(PositionId),
    Iupd(&'a OrganizationFiscalCode, &'a str),
    Notice(&'a OrganizationFiscalCode, &'a str),
}

impl Locate<'_> {
    async fn load(self, cx: PayContext<'_>) -> Result<Position> {
        match self {
            Self::Id(id) => cx
                .store
                .get_position_by_id(&id)
                .await?
                .ok_or_else(not_found),
            Self::Iupd(org, iupd) => get(cx, org, iupd).await,
            Self::Notice(org, n) => Ok(by_notice(cx, org, n).await?.0),
        }
    }
}

pub async fn publish(
    cx: PayContext<'_>,
    profile: &Profile,
    iupd: &str,
    actor: &str,
) -> Result<Position> {
    let load = Locate::Iupd(&profile.organization, iupd);
    change(cx, profile, load, actor, |p, now| {
        Ok((vec![p.publish(now).map_err(rule)?], Vec::new()))
    })
    .await
}

pub async fn invalidate(
    cx: PayContext<'_>,
    profile: &Profile,
    iupd: &str,
    actor: &str,
) -> Result<Position> {
    let load = Locate::Iupd(&profile.organization, iupd);
    change(cx, profile, load, actor, |p, now| {
        Ok((vec![p.invalidate(now).map_err(rule)?], Vec::new()))
    })
    .await
}

/// GPD's update: the body replaces the position (notice numbers kept where the client
/// repeats them, allocated where it sends none); the result is a draft, published when asked.
pub async fn update(
    cx: PayContext<'_>,
    profile: &Profile,
    iupd: &str,
    draft: Draft,
    to_publish: bool,
    actor: &str,
) -> Result<Position> {
    if draft.position.iupd.as_str() != iupd {
        return Err(Error::invalid_field(
            "iupd",
            "must be the IUPD of the position in the path",
        ));
    }
    draft
        .check_segregation(&profile.segregation_codes)
        .map_err(Error::invalid)?;
    let current = get(cx, &profile.organization, iupd).await?;
    current.check_changeable("updated").map_err(rule)?;
    let navs = match profile.segregation_codes.first() {
        Some(seg) if !draft.missing.is_empty() => {
            cx.notices.take(cx.store, *seg, draft.missing.len()).await?
        }
        _ => Vec::new(),
    };
    let next = draft.assign(navs);
    let load = Locate::Iupd(&profile.organization, iupd);
    change(cx, profile, load, actor, |p, now| {
        let mut events = vec![p.replace_with(next.clone(), now).map_err(rule)?];
        if to_publish {
            events.push(p.publish(now).map_err(rule)?);
        }
        Ok((events, Vec::new()))
    })
    .await
}

/// Deletes a position that is still changeable; its history stays.
pub async fn delete(cx: PayContext<'_>, profile: &Profile, iupd: &str, actor: &str) -> Result<()> {
    let p = get(cx, &profile.organization, iupd).await?;
    p.check_changeable("deleted").map_err(rule)?;
    let event = PositionEvent {
        at: cx.clock.now(),
        version: p.version + 1,
        action: "deleted".into(),
        status: p.status,
        detail: None,
        actor: actor.to_owned(),
    };
    cx.store.delete_position(&p.id, p.version, &event).await?;
    Ok(())
}

/// What a payment brings (GPD's `PayPaymentOptionModel`).
#[derive(Debug, Clone, Default)]
pub struct PayInfo {
    pub payment_date: Option<DateTime<Utc>>,
    pub payment_method: Option<String>,
    pub psp_code: Option<String>,
    pub psp_tax_code: Option<String>,
    pub psp_company: Option<String>,
    pub receipt_id: Option<String>,
    pub fee: Option<i64>,
}

/// Records the payment of the option with this IUV or notice number. A second payment is a
/// conflict with no effect. The message side (PAID, the `paid` callback) follows from the
/// `option_paid` job written with it.
pub async fn pay(
    cx: PayContext<'_>,
    profile: &Profile,
    iuv_or_nav: &str,
    info: PayInfo,
    outside_pagopa: bool,
    actor: &str,
) -> Result<(Position, usize)> {
    let load = Locate::Notice(&profile.organization, iuv_or_nav);
    let p = change(cx, profile, load, actor, |p, now| {
        let i = p.option_index(iuv_or_nav).ok_or_else(notice_not_found)?;
        let record = PaymentRecord {
            payment_date: info.payment_date.unwrap_or(now),
            payment_method: info.payment_method.clone(),
            psp_code: info.psp_code.clone(),
            psp_tax_code: info.psp_tax_code.clone(),
            psp_company: info.psp_company.clone(),
            receipt_id: info.receipt_id.clone(),
            fee: info.fee,
            outside_pagopa,
        };
        let events = p.pay(i, record, now).map_err(rule)?;
        let job = PositionJob {
            kind: JobKind::OptionPaid,
            subject_id: format!("{}:{i}", p.id),
            due_at: now,
        };
        Ok((events, vec![job]))
    })
    .await?;
    let i = p.option_index(iuv_or_nav).ok_or_else(notice_not_found)?;
    Ok((p, i))
}

/// Records the reporting of one transfer of the option with this IUV.
pub async fn report(
    cx: PayContext<'_>,
    profile: &Profile,
    iuv: &str,
    transfer_id: &str,
    actor: &str,
) -> Result<(Position, usize)> {
    let id: u8 = match transfer_id {
        "1" | "2" | "3" | "4" | "5" => transfer_id.parse().unwrap_or(1),
        _ => {
            return Err(Error::not_found(
                "Transfer not found",
                "A transfer id is from 1 to 5.",
            ));
        }
    };
    let load = Locate::Notice(&profile.organization, iuv);
    let p = change(cx, profile, load, actor, |p, now| {
        let i = p.option_index(iuv).ok_or_else(notice_not_found)?;
        Ok((vec![p.report(i, id, None, now).map_err(rule)?], Vec::new()))
    })
    .await?;
    let i = p.option_index(iuv).ok_or_else(notice_not_found)?;
    Ok((p, i))
}

/// GPD's notification fee: the SEND notification cost, added to the option's amount and to
/// its transfer to the owning ente (the primary one). Only on an unpaid option.
pub async fn set_notification_fee(
    cx: PayContext<'_>,
    profile: &Profile,
    iuv_or_nav: &str,
    fee: i64,
    actor: &str,
) -> Result<(Position, usize)> {
    if !(0..=99_999_999).contains(&fee) {
        return Err(Error::invalid_field(
            "notificationFee",
            "must be from 0 to 99999999 cents",
        ));
    }
    let load = Locate::Notice(&profile.organization, iuv_or_nav);
    let p = change(cx, profile, load, actor, |p, now| {
        let i = p.option_index(iuv_or_nav).ok_or_else(notice_not_found)?;
        if !p.status.updatable() && !p.status.payable() {
            return Err(Error::Conflict(format!(
                "the position is {}: its notification fee cannot change",
                p.status.as_str()
            )));
        }
        let owner = p.organization.clone();
        let o = &mut p.options[i];
        if o.status.is_paid() {
            return Err(Error::Conflict(
                "the payment option is paid: its notification fee cannot change".into(),
            ));
        }
        let primary = o
            .transfers
            .iter_mut()
            .find(|t| t.organization == owner)
            .ok_or_else(|| {
                Error::unprocessable(
                    "the payment option has no transfer to the organization itself, to which the fee would be added",
                )
            })?;
        let delta = fee - o.notification_fee;
        primary.amount += delta;
        primary.last_updated_date = now;
        o.amount += delta;
        o.notification_fee = fee;
        o.last_updated_date = now;
        let detail = format!("notice {} fee {fee}", p.options[i].nav);
        Ok((vec![p.changed(now, "notification_fee", Some(detail))], Vec::new()))
    })
    .await?;
    let i = p.option_index(iuv_or_nav).ok_or_else(notice_not_found)?;
    Ok((p, i))
}

/// Beyond GPD: reissues an EXPIRED or INVALID position never paid, as a new draft with a
/// new IUPD (default: the old one with `-R<n>`) and new notice numbers, linked both ways;
/// published at once when asked.
pub async fn reissue(
    cx: PayContext<'_>,
    profile: &Profile,
    iupd: &str,
    new_iupd: Option<&str>,
    due_dates: Option<Vec<DateTime<Utc>>>,
    to_publish: bool,
    actor: &str,
) -> Result<Position> {
    for _ in 0..5 {
        match reissue_once(
            cx,
            profile,
            iupd,
            new_iupd,
            due_dates.clone(),
            to_publish,
            actor,
        )
        .await
        {
            Err(Error::Conflict(m)) if m.contains("changed meanwhile") => continue,
            other => return other,
        }
    }
    Err(Error::Conflict(
        "the position is being changed by someone else; try again".into(),
    ))
}

async fn reissue_once(
    cx: PayContext<'_>,
    profile: &Profile,
    iupd: &str,
    new_iupd: Option<&str>,
    due_dates: Option<Vec<DateTime<Utc>>>,
    to_publish: bool,
    actor: &str,
) -> Result<Position> {
    let mut old = get(cx, &profile.organization, iupd).await?;
    let version = old.version;
    let new_iupd = match new_iupd {
        Some(s) => Iupd::parse(s).map_err(|e| Error::invalid_field("iupd", e.reason))?,
        None => {
            let base = old.iupd.as_str().to_owned();
            let mut n = 1;
            loop {
                let candidate = Iupd::parse(&format!("{base}-R{n}"))
                    .map_err(|e| Error::invalid_field("iupd", e.reason))?;
                if cx
                    .store
                    .get_position(&profile.organization, &candidate)
                    .await?
                    .is_none()
                {
                    break candidate;
                }
                n += 1;
            }
        }
    };
    let seg = *profile
        .segregation_codes
        .first()
        .ok_or_else(|| Error::internal("profile without segregation codes"))?;
    let navs = cx.notices.take(cx.store, seg, old.options.len()).await?;
    let now = cx.clock.now();
    let (mut copy, event) = old.reissue(new_iupd, navs, due_dates, now).map_err(rule)?;
    let mut copy_events = vec![copy.created_event(now)];
    if to_publish {
        copy_events.push(copy.publish(now).map_err(rule)?);
    }
    let jobs = jobs_for(&copy, None, profile, now);
    let also = PositionWrite {
        position: copy,
        event: with_actor(copy_events, actor),
        jobs,
    };
    let write = PositionWrite {
        position: old,
        event: with_actor(vec![event], actor),
        jobs: Vec::new(),
    };
    cx.store.save_position(&write, version, Some(&also)).await?;
    wake(cx, &also.jobs);
    Ok(also.position)
}

/// GPD's bulk IBAN change: replaces `old_iban` with `new_iban` on the transfers of up to
/// `limit` updatable positions; returns how many transfers changed.
pub async fn change_iban(
    cx: PayContext<'_>,
    profile: &Profile,
    old_iban: &payments::values::Iban,
    new_iban: &payments::values::Iban,
    limit: i64,
    actor: &str,
) -> Result<u64> {
    use payments::model::Destination;
    let positions = cx
        .store
        .positions_with_iban(&profile.organization, old_iban.as_str(), limit)
        .await?;
    let mut changed = 0u64;
    for p in positions {
        let id = p.id;
        let load = Locate::Id(id);
        let mut n = 0u64;
        change(cx, profile, load, actor, |p, now| {
            n = 0;
            if !p.status.updatable() {
                return Ok((Vec::new(), Vec::new()));
            }
            for o in p.options.iter_mut().filter(|o| !o.status.is_paid()) {
                for t in &mut o.transfers {
                    if let Destination::Account { iban, postal_iban } = &mut t.destination {
                        for slot in [iban, postal_iban] {
                            if slot.as_ref() == Some(old_iban) {
                                *slot = Some(new_iban.clone());
                                t.last_updated_date = now;
                                n += 1;
                            }
                        }
                    }
                }
            }
            if n == 0 {
                return Ok((Vec::new(), Vec::new())); // nothing to save
            }
            let detail = format!("{n} transfers");
            Ok((
                vec![p.changed(now, "iban_changed", Some(detail))],
                Vec::new(),
            ))
        })
        .await?;
        changed += n;
    }
    Ok(changed)
}

/// The scheduled move of one position (its `position_tick` job): PUBLISHED → VALID when its
/// validity date has come, VALID → EXPIRED after its last due date. A job that fires early
/// (the position changed since) does nothing.
pub async fn tick(cx: PayContext<'_>, id: &PositionId, actor: &str) -> Result<Option<Position>> {
    let Some(p) = cx.store.get_position_by_id(id).await? else {
        return Ok(None);
    };
    let Some(profile) = cx.store.payments_profile(&p.organization).await? else {
        return Ok(None);
    };
    let load = Locate::Id(*id);
    let mut moved = false;
    let p = change(cx, &profile, load, actor, |p, now| {
        let mut events = Vec::new();
        while let Some(e) = p.tick(now) {
            events.push(e);
        }
        moved = !events.is_empty();
        Ok((events, Vec::new()))
    })
    .await?;
    Ok(moved.then_some(p))
}

/// The history of a position, oldest first.
pub async fn history(cx: PayContext<'_>, p: &Position) -> Result<Vec<PositionEvent>> {
    Ok(cx.store.position_history(&p.id).await?)
}

/// Records how the pre-notices of a position went (`pre_notice` job), option by option.
pub async fn record_pre_notices(
    cx: PayContext<'_>,
    id: &PositionId,
    results: Vec<(usize, payments::model::PreNotice)>,
) -> Result<()> {
    let Some(p) = cx.store.get_position_by_id(id).await? else {
        return Ok(());
    };
    let Some(profile) = cx.store.payments_profile(&p.organization).await? else {
        return Ok(());
    };
    let load = Locate::Id(*id);
    change(cx, &profile, load, "system", |p, now| {
        let mut summary = Vec::new();
        for (i, notice) in &results {
            if let Some(o) = p.options.get_mut(*i)
                && o.pre_notice.is_none()
            {
                summary.push(format!("notice {} {}", o.nav, notice.status));
                o.pre_notice = Some(notice.clone());
            }
        }
        if summary.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        Ok((
            vec![p.changed(now, "pre_notice", Some(summary.join("; ")))],
            Vec::new(),
        ))
    })
    .await?;
    Ok(())
}

/// The payment notice ("avviso di pagamento") of a position, ready to render: the creditor
/// (the owning ente, its logo), the debtor, and what to pay — the single payment, or the
/// first installment plan with the single payment as its alternative when there is one.
/// A due date in 2099 or later prints as "senza scadenza". Dates are the UTC day.
pub fn notice_of(
    p: &Position,
    logo_png: Option<Vec<u8>>,
    language: notice::Language,
) -> Result<notice::Notice> {
    let to_installment = |o: &payments::model::PaymentOption| notice::Installment {
        nav: o.nav.as_str().to_owned(),
        amount_cents: o.amount,
        due_date: (o.due_date.format("%Y").to_string().as_str() < "2099")
            .then(|| o.due_date.date_naive()),
    };
    let open: Vec<&payments::model::PaymentOption> =
        p.options.iter().filter(|o| !o.status.is_paid()).collect();
    let single = open.iter().find(|o| !o.is_partial_payment).copied();
    let plan_key = open
        .iter()
        .find(|o| o.is_partial_payment)
        .map(|o| o.plan_key());
    let mut plan: Vec<&payments::model::PaymentOption> = open
        .iter()
        .filter(|o| o.is_partial_payment && Some(o.plan_key()) == plan_key)
        .copied()
        .collect();
    plan.sort_by_key(|o| o.due_date);
    let payment = match (single, plan.len()) {
        (Some(s), 0 | 1) if plan.is_empty() => notice::Payment::Single(to_installment(s)),
        (_, 0) => {
            return Err(Error::Conflict(
                "the position has no unpaid payment option to print".into(),
            ));
        }
        (s, 1) => match s {
            Some(s) => notice::Payment::Single(to_installment(s)),
            None => notice::Payment::Single(to_installment(plan[0])),
        },
        (s, _) => notice::Payment::Plan {
            single: s.map(to_installment),
            installments: plan.iter().map(|o| to_installment(o)).collect(),
        },
    };
    let first = single.or(plan.first().copied()).unwrap_or(&p.options[0]);
    let subject: String = first
        .option_description
        .as_deref()
        .unwrap_or(&first.description)
        .chars()
        .take(90)
        .collect();
    let debtor = p.debtor_of(first);
    Ok(notice::Notice {
        subject: if subject.trim().is_empty() {
            "Avviso di pagamento".into()
        } else {
            subject
        },
        language,
        creditor: notice::Creditor {
            fiscal_code: p.organization.as_str().to_owned(),
            name: p.company_name.chars().take(100).collect(),
            sector: p
                .office_name
                .as_ref()
                .map(|s| s.chars().take(100).collect()),
            info: None,
            cbill: None,
            logo_png,
        },
        debtor: notice::Debtor {
            fiscal_code: debtor.code.as_str().to_owned(),
            full_name: debtor.full_name.chars().take(70).collect(),
            address: debtor.address_line().map(|a| a.chars().take(140).collect()),
        },
        payment,
    })
}
