//! The job queue as operators see it: a dead job queued again.

use crate::{Context, Result};

/// Queues a dead job again, to run now, and tells the workers.
pub async fn retry(ctx: Context<'_>, job_id: i64) -> Result<()> {
    ctx.store.retry_job(job_id, ctx.clock.now()).await?;
    ctx.jobs_ready.ready_all();
    Ok(())
}
