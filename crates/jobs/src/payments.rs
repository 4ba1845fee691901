//! The payments jobs, where the payments and messaging domains meet:
//! - `position_tick`: a position's validity date or last due date came (PUBLISHED → VALID,
//!   VALID → EXPIRED);
//! - `pre_notice`: a position became payable: the IO payment message goes to each natural
//!   person debtor of a payable option (the first open installment of each plan) through the
//!   ordinary intake — idempotent per notice number, with the service's quotas and the
//!   citizen's preferences — and the outcome is recorded on the option;
//! - `option_paid`: an option was paid: its message shows PAID, reminders stop and the
//!   service's `paid` callback goes out.

use kernel::jobs::{Job, JobKind, JobsReady};
use kernel::values::MessageId;
use messaging::batch::for_service;
use messaging::content::{NewMessageError, parse_new_message};
use messaging::model::{AcceptOutcome, Idempotency, NewMessageRecord, SealedContent};
use messaging::quota::Quotas;
use ops::payments::PayContext;
use payments::model::{PositionId, PreNotice};
use payments::ports::NoticeTemplate;
use serde_json::json;

use crate::Worker;

impl Worker {
    pub(crate) async fn run_payments(&self, jobs: Vec<Job>) {
        for job in jobs {
            let result = match job.kind {
                JobKind::PositionTick => self.position_tick(&job).await,
                JobKind::PreNotice => self.pre_notice(&job).await,
                JobKind::OptionPaid => self.option_paid(&job).await,
                other => Err(format!("not a payments job: {other}")),
            };
            match result {
                Ok(()) => {
                    if let Err(e) = self.store.delete_job(job.id).await {
                        tracing::warn!(job.id = job.id, error.cause = %e, "cannot remove the job");
                    }
                }
                Err(error) => self.record_failure(&job, &error).await,
            }
        }
    }

    pub(crate) fn pay_context(&self) -> PayContext<'_> {
        PayContext {
            store: self.payments.as_ref(),
            clock: self.clock.as_ref(),
            jobs_ready: self.wake.as_ref(),
            notices: &self.notices,
        }
    }

    async fn position_tick(&self, job: &Job) -> Result<(), String> {
        let id = PositionId::parse(&job.subject_id).map_err(|e| e.to_string())?;
        match ops::payments::tick(self.pay_context(), &id, "system").await {
            Ok(Some(p)) => {
                tracing::info!(position.id = %id, position.status = p.status.as_str(), "position moved on");
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }

    async fn pre_notice(&self, job: &Job) -> Result<(), String> {
        let id = PositionId::parse(&job.subject_id).map_err(|e| e.to_string())?;
        let pay = self.payments.as_ref();
        let Some(p) = pay
            .get_position_by_id(&id)
            .await
            .map_err(|e| e.to_string())?
        else {
            return Ok(()); // deleted since
        };
        if !p.status.payable() {
            return Ok(());
        }
        let Some(profile) = pay
            .payments_profile(&p.organization)
            .await
            .map_err(|e| e.to_string())?
        else {
            return Ok(());
        };
        let Some(service_id) = profile.io_service else {
            return Ok(());
        };
        let now = self.clock.now();
        let service = self
            .store
            .get_service(&service_id)
            .await
            .map_err(|e| e.to_string())?
            .filter(messaging::model::Service::is_active);
        let limits = self.config.default_limits.with(
            &self
                .store
                .service_limits(&service_id)
                .await
                .map_err(|e| e.to_string())?,
        );
        let mut results: Vec<(usize, PreNotice)> = Vec::new();
        let mut records = Vec::new();
        let mut record_options = Vec::new();
        for i in p.pre_notice_targets() {
            let o = &p.options[i];
            if o.pre_notice.is_some() {
                continue;
            }
            let outcome = |status: &str, reason: &str| PreNotice {
                status: status.into(),
                message_id: None,
                reason: Some(reason.into()),
                at: now,
            };
            let debtor = p.debtor_of(o);
            let Some(fc) = debtor.code.person() else {
                results.push((
                    i,
                    outcome(
                        "SKIPPED",
                        "the debtor is a legal person: IO reaches people only",
                    ),
                ));
                continue;
            };
            let Some(service) = &service else {
                results.push((
                    i,
                    outcome(
                        "REJECTED",
                        "the organization's IO service for payment notices is not active",
                    ),
                ));
                continue;
            };
            let english = self
                .store
                .get_citizen(fc)
                .await
                .map_err(|e| e.to_string())?
                .and_then(|c| c.preferred_languages.first().cloned())
                .is_some_and(|l| l.starts_with("en"));
            let body = message_body(&p, i, fc.as_str(), &profile.template, english);
            let message = match parse_new_message(&body, None) {
                Ok(m) => m,
                Err(NewMessageError::Invalid(errors)) => {
                    results.push((
                        i,
                        outcome(
                            "REJECTED",
                            &format!(
                                "the template makes an invalid message: {}",
                                errors.summary()
                            ),
                        ),
                    ));
                    continue;
                }
                Err(NewMessageError::Forbidden(f)) => {
                    results.push((i, outcome("REJECTED", &format!("forbidden: {f:?}"))));
                    continue;
                }
            };
            let content = match for_service(service, &message) {
                Ok(c) => c,
                Err(refusal) => {
                    results.push((i, outcome("REJECTED", &refusal.to_string())));
                    continue;
                }
            };
            let plain = serde_json::to_vec(&content).map_err(|e| e.to_string())?;
            let mid = MessageId::new_at(now);
            let (key_id, bytes) = self.keyring.seal(&plain, mid.to_string().as_bytes());
            records.push(NewMessageRecord {
                id: mid,
                service_id,
                fiscal_code: message.fiscal_code,
                created_at: now,
                time_to_live: message.time_to_live,
                feature_level: message.feature_level,
                content: SealedContent { key_id, bytes },
                idempotency: Some(Idempotency {
                    key: format!("pre-notice:{}:{}", p.organization, o.nav),
                    request_hash: seal::sha256_hex(&[o.nav.as_str().as_bytes()]),
                }),
                quotas: Quotas {
                    daily: limits.daily_quota,
                    monthly: limits.monthly_quota,
                },
            });
            record_options.push(i);
        }
        if !records.is_empty() {
            let outcomes = self
                .store
                .accept_messages(&records)
                .await
                .map_err(|e| e.to_string())?;
            for (i, o) in record_options.into_iter().zip(outcomes) {
                let notice = match o {
                    AcceptOutcome::Created(m) | AcceptOutcome::Replayed(m) => PreNotice {
                        status: "SENT".into(),
                        message_id: Some(m.to_string()),
                        reason: None,
                        at: now,
                    },
                    AcceptOutcome::QuotaExceeded { period, limit, .. } => PreNotice {
                        status: "REJECTED".into(),
                        message_id: None,
                        reason: Some(format!(
                            "the {} quota of the service ({limit} messages) is used up",
                            period.as_str()
                        )),
                        at: now,
                    },
                    AcceptOutcome::KeyReused => PreNotice {
                        status: "REJECTED".into(),
                        message_id: None,
                        reason: Some("a different message was already sent for this notice".into()),
                        at: now,
                    },
                };
                results.push((i, notice));
            }
            self.wake.ready(JobKind::ProcessMessage);
        }
        if results.is_empty() {
            return Ok(());
        }
        ops::payments::record_pre_notices(self.pay_context(), &id, results)
            .await
            .map_err(|e| e.to_string())
    }

    async fn option_paid(&self, job: &Job) -> Result<(), String> {
        let (id, index) = job
            .subject_id
            .split_once(':')
            .ok_or("an option_paid subject is <position id>:<option index>")?;
        let id = PositionId::parse(id).map_err(|e| e.to_string())?;
        let index: usize = index.parse().map_err(|_| "bad option index")?;
        let Some(p) = self
            .payments
            .get_position_by_id(&id)
            .await
            .map_err(|e| e.to_string())?
        else {
            return Ok(());
        };
        let Some(message) = p
            .options
            .get(index)
            .and_then(|o| o.pre_notice.as_ref())
            .and_then(|n| n.message_id.as_deref())
        else {
            return Ok(()); // no message went out for it
        };
        let mid = MessageId::parse(message).map_err(|e| e.to_string())?;
        match self.store.mark_message_paid(&mid, self.clock.now()).await {
            Ok(true) => {
                self.wake.ready(JobKind::Callback);
                Ok(())
            }
            Ok(false) | Err(kernel::ports::StoreError::NotFound(_)) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// The IO message of one option's pre-notice, from the ente's template.
fn message_body(
    p: &payments::model::Position,
    i: usize,
    fiscal_code: &str,
    template: &NoticeTemplate,
    english: bool,
) -> serde_json::Value {
    let o = &p.options[i];
    let (installment_it, installment_en) = if o.is_partial_payment {
        let plan: Vec<_> = p
            .options
            .iter()
            .filter(|x| x.plan_id == o.plan_id)
            .collect();
        let k = plan.iter().filter(|x| x.due_date < o.due_date).count() + 1;
        (
            format!("(rata {k} di {})", plan.len()),
            format!("(installment {k} of {})", plan.len()),
        )
    } else {
        (String::new(), String::new())
    };
    let amount = notice::format_amount_it(o.amount);
    let due = o.due_date.format("%d/%m/%Y").to_string();
    let fill = |t: &str, installment: &str| {
        t.replace("{company}", &p.company_name)
            .replace("{description}", &o.description)
            .replace("{amount}", &amount)
            .replace("{due_date}", &due)
            .replace("{notice_number}", o.nav.as_str())
            .replace("{installment}", installment)
    };
    let (subject, markdown, installment) = if english {
        (&template.subject_en, &template.markdown_en, installment_en)
    } else {
        (&template.subject_it, &template.markdown_it, installment_it)
    };
    json!({
        "fiscal_code": fiscal_code,
        "time_to_live": 604800,
        "feature_level_type": "ADVANCED",
        "content": {
            "subject": truncate(&fill(subject, &installment), 120),
            "markdown": fill(markdown, &installment),
            "due_date": o.due_date.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "payment_data": {
                "amount": o.amount,
                "notice_number": o.nav.as_str(),
                "invalid_after_due_date": o.switch_to_expired,
                "payee": {"fiscal_code": p.organization.as_str()},
            },
        },
    })
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(max - 1).collect();
        out.push('…');
        out
    }
}
