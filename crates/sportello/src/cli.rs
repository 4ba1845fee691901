//! The command line: `serve`, `worker`, `migrate`, `healthcheck` and `admin …`.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use kernel::jobs::JobStatus;
use kernel::values::OrganizationFiscalCode;
use messaging::ports::Store;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::config::{Config, ConfigArgs};

#[derive(Debug, Parser)]
#[command(
    name = "sportello",
    version,
    about = "IO-compatible messaging and pagoPA rails for Italian public bodies"
)]
struct Cli {
    // Shown apart in every subcommand's help, after the subcommand's own options.
    #[command(flatten, next_help_heading = "Global options")]
    config: ConfigArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API and run the workers in one process (migrates the embedded database).
    Serve,
    /// Run workers only (no HTTP), e.g. on extra PostgreSQL nodes.
    Worker,
    /// Apply pending database migrations.
    Migrate,
    /// Exit 0 when the server at --listen answers /readyz with 200.
    Healthcheck,
    /// Batches of messages.
    Batch {
        #[command(subcommand)]
        command: BatchCmd,
    },
    /// The pagoPA node side: a simulator for demos, tests and benchmarks.
    Pagopa {
        #[command(subcommand)]
        command: PagopaCmd,
    },
    /// Platform administration (works while the server runs, on the database of the same
    /// --data-dir or --database-url).
    Admin {
        /// Create and migrate the database if there is none (otherwise admin commands refuse,
        /// so that a wrong data directory is not mistaken for an empty installation).
        #[arg(long, global = true)]
        create: bool,
        #[command(subcommand)]
        command: Admin,
    },
}

#[derive(Debug, Subcommand)]
enum PagopaCmd {
    /// Play the pagoPA node against a running Sportello: pay notices (verify → getPayment →
    /// sendRT, with realistic PSPs, channels, fees and dates) and write, per simulated day,
    /// DIR/<date>/fdr/*.xml (reporting flows) and DIR/<date>/opi.xml (treasury journal).
    /// Prints a JSON summary (calls, faults, latencies). With --share the payable positions
    /// are read from the database of this configuration.
    Simulate {
        /// Base URL of Sportello (http), or the full URL of its paForNode endpoint.
        #[arg(long)]
        url: String,
        #[arg(long)]
        organization: String,
        #[arg(long)]
        broker_id: String,
        #[arg(long)]
        station_id: String,
        /// The node key the station expects (Ocp-Apim-Subscription-Key).
        #[arg(long, env = "SPORTELLO_PAGOPA_NODE_KEY", hide_env_values = true)]
        node_key: Option<String>,
        /// Notice numbers to pay (18 digits each).
        #[arg(long, num_args = 1.., conflicts_with = "share")]
        notice: Vec<String>,
        /// Percentage of the ente's payable positions to pay, spread over the days.
        #[arg(long, requires = "from")]
        share: Option<f64>,
        /// First simulated day (YYYY-MM-DD); with --notice, the payment day (default today).
        #[arg(long)]
        from: Option<String>,
        #[arg(long, default_value_t = 1)]
        days: u32,
        /// Anomalies to inject into the day files: code9, amount, duplicate, unreported,
        /// no-movement, stray, revoked (comma separated).
        #[arg(long)]
        anomalies: Option<String>,
        /// Where the day files go (none written without it).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        /// Payments in flight at once.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Verify calls per payment.
        #[arg(long, default_value_t = 1)]
        verifies: usize,
        /// Seed of every random choice (same seed, same run).
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Debug, Subcommand)]
enum BatchCmd {
    /// Upload a file of messages (NDJSON, or CSV with the documented header) for a service;
    /// a running server's workers process it. Progress goes to stderr (JSON lines with
    /// --json), the result to stdout.
    Send {
        file: std::path::PathBuf,
        #[arg(long)]
        service: String,
        /// ndjson or csv (default: from the file extension).
        #[arg(long)]
        format: Option<String>,
        #[arg(long)]
        idempotency_key: Option<String>,
        #[arg(long)]
        json: bool,
        /// Follow the processing until every line has an outcome; exit 3 if any was rejected
        /// or cancelled.
        #[arg(long)]
        wait: bool,
    },
}

#[derive(Debug, Subcommand)]
enum Admin {
    /// Organizations (enti).
    Organization {
        #[command(subcommand)]
        command: OrganizationCmd,
    },
    /// Delegates and their manage keys.
    Delegate {
        #[command(subcommand)]
        command: DelegateCmd,
    },
    /// Services (create one with its keys without going through the manage API).
    Service {
        #[command(subcommand)]
        command: ServiceCmd,
    },
    /// Citizen profiles and sessions (for operators and tests).
    Citizen {
        #[command(subcommand)]
        command: CitizenCmd,
    },
    /// Aggregators' mandates over other organizations' services.
    Mandate {
        #[command(subcommand)]
        command: MandateCmd,
    },
    /// Services waiting for review: list, approve, reject.
    Review {
        #[command(subcommand)]
        command: ReviewCmd,
    },
    /// The job queue and its dead letters.
    Jobs {
        #[command(subcommand)]
        command: JobsCmd,
    },
    /// Payments (pagoPA debt positions) of an organization: enable, keys.
    Payments {
        #[command(subcommand)]
        command: PaymentsCmd,
    },
}

#[derive(Debug, Subcommand)]
enum PaymentsCmd {
    /// Enable payments for an organization (or change its set-up): its segregation codes and
    /// the IO service of its payment notices. Prints the two payments keys (shown only now;
    /// running it again replaces them).
    Enable {
        #[arg(long)]
        organization: String,
        /// Two digits each, comma separated (PagoPA assigns them; reserved ones are warned about).
        #[arg(long, value_name = "NN[,NN...]")]
        segregation_code: String,
        /// The organization's IO service that sends the payment pre-notices.
        #[arg(long)]
        io_service: Option<String>,
        /// Networks the payments key may be used from (comma separated CIDRs; default anywhere).
        #[arg(long)]
        cidrs: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Assign the organization to the pagoPA station the node calls it through (its own or
    /// its intermediary's): the broker id and station id as registered with PagoPA.
    Station {
        #[arg(long)]
        organization: String,
        #[arg(long)]
        broker_id: String,
        #[arg(long)]
        station_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Replace the primary or secondary payments key; prints the new key.
    RegenerateKey {
        #[arg(long)]
        organization: String,
        /// primary or secondary.
        #[arg(long, default_value = "primary")]
        slot: String,
    },
}

#[derive(Debug, Subcommand)]
enum OrganizationCmd {
    /// Create an organization.
    Create {
        #[arg(long)]
        fiscal_code: String,
        #[arg(long)]
        name: String,
        /// comune, provincia, citta_metropolitana, regione, unione_di_comuni or other.
        #[arg(long)]
        kind: Option<String>,
        /// Code in the national index of public administrations (IPA).
        #[arg(long)]
        ipa_code: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List organizations.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Disable an organization: its services' keys stop working.
    Disable {
        #[command(flatten)]
        target: FiscalCodeArg,
    },
    /// Enable a disabled organization again.
    Enable {
        #[command(flatten)]
        target: FiscalCodeArg,
    },
}

#[derive(Debug, Subcommand)]
enum DelegateCmd {
    /// Create a delegate (an audited variation); prints the manage key (shown only now).
    Create {
        #[arg(long)]
        organization: String,
        #[arg(long)]
        email: String,
        /// Full name of the person.
        #[arg(long)]
        name: Option<String>,
        /// The person's codice fiscale.
        #[arg(long)]
        fiscal_code: Option<String>,
        /// administrative or technical (default).
        #[arg(long)]
        role: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Give a delegate a new manage key; the old one stops working.
    RotateKey {
        #[command(flatten)]
        target: IdArg,
        #[arg(long)]
        json: bool,
    },
    /// List delegates (all, or of one organization).
    List {
        #[arg(long)]
        organization: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Disable a delegate (an audited variation): the manage key stops working.
    Disable {
        #[command(flatten)]
        target: IdArg,
    },
    /// Enable a disabled delegate again.
    Enable {
        #[command(flatten)]
        target: IdArg,
    },
}

#[derive(Debug, Subcommand)]
enum ServiceCmd {
    /// Create a draft service; prints its id and keys.
    Create {
        #[arg(long)]
        organization: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        description: String,
        /// Fiscal codes the draft service may message (repeatable).
        #[arg(long = "authorized-recipient")]
        authorized_recipients: Vec<String>,
        /// Allowed client addresses (repeatable; none = any).
        #[arg(long = "authorized-cidr")]
        authorized_cidrs: Vec<String>,
        #[arg(long, default_value_t = 0)]
        max_allowed_payment_amount: u64,
        #[arg(long, default_value = "LOCAL")]
        scope: String,
        #[arg(long, default_value_t = 0)]
        topic_id: i64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum CitizenCmd {
    /// Create a citizen profile (for tests and operators).
    Create {
        #[arg(long)]
        fiscal_code: String,
        #[arg(long)]
        email: Option<String>,
        /// LEGACY, AUTO (default) or MANUAL.
        #[arg(long)]
        mode: Option<String>,
        /// Create the profile with the inbox switched off.
        #[arg(long)]
        inbox_disabled: bool,
        #[arg(long)]
        json: bool,
    },
    /// Issue a session (the development login): prints the bearer token of
    /// `/api/citizen/v1`, shown only now. Does not create the profile.
    Session {
        #[command(flatten)]
        target: FiscalCodeArg,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum MandateCmd {
    /// Let an aggregator manage an organization's services (all, or one with --service).
    Add {
        #[arg(long)]
        aggregator: String,
        #[arg(long)]
        organization: String,
        #[arg(long)]
        service: Option<String>,
    },
    /// The mandates of an aggregator.
    List {
        #[arg(long)]
        aggregator: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ReviewCmd {
    /// Services waiting for an operator.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Approve a submitted service (published at once if the delegate asked auto_publish).
    Approve {
        #[command(flatten)]
        target: ServiceIdArg,
    },
    /// Reject a submitted service, telling the delegate why.
    Reject {
        #[command(flatten)]
        target: ServiceIdArg,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
enum JobsCmd {
    /// Jobs in the queue (all, or of one status).
    List {
        /// queued, running or dead.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Put a dead job back in the queue (its message back to ACCEPTED).
    Retry {
        #[command(flatten)]
        target: JobIdArg,
    },
}

// The one thing a command acts on is given by position (`review approve ID`) or by flag
// (`--id ID`), whichever form the command had first: scripts written for either keep working.

// A fiscal code, as `X` or `--fiscal-code X` (plain comments: a doc comment here would become
// the help text of every command that flattens it).
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
struct FiscalCodeArg {
    /// The fiscal code (or give it with --fiscal-code).
    #[arg(value_name = "FISCAL_CODE")]
    position: Option<String>,
    /// The fiscal code (or give it by position).
    #[arg(long = "fiscal-code", value_name = "FISCAL_CODE")]
    flag: Option<String>,
}

impl FiscalCodeArg {
    fn get(self) -> String {
        self.flag.or(self.position).unwrap_or_default()
    }
}

// A delegate id, as `ID` or `--id ID`.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
struct IdArg {
    /// The delegate's id (or give it with --id).
    #[arg(value_name = "ID")]
    position: Option<String>,
    /// The delegate's id (or give it by position).
    #[arg(long = "id", value_name = "ID")]
    flag: Option<String>,
}

impl IdArg {
    fn get(self) -> String {
        self.flag.or(self.position).unwrap_or_default()
    }
}

// A service id, as `SERVICE_ID` or `--id SERVICE_ID`.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
struct ServiceIdArg {
    /// The service's id (or give it with --id).
    #[arg(value_name = "SERVICE_ID")]
    position: Option<String>,
    /// The service's id (or give it by position).
    #[arg(long = "id", value_name = "SERVICE_ID")]
    flag: Option<String>,
}

impl ServiceIdArg {
    fn get(self) -> String {
        self.flag.or(self.position).unwrap_or_default()
    }
}

// A job id, as `ID` or `--id ID`.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
struct JobIdArg {
    /// The job's id (or give it with --id).
    #[arg(value_name = "ID")]
    position: Option<i64>,
    /// The job's id (or give it by position).
    #[arg(long = "id", value_name = "ID")]
    flag: Option<i64>,
}

impl JobIdArg {
    fn get(self) -> i64 {
        self.flag.or(self.position).unwrap_or_default()
    }
}

/// Runs the command line; the process exit code.
pub fn main() -> ExitCode {
    // Before any file is opened (and before the runtime's threads exist): the database, its
    // journal files and generated keys hold personal data and secrets.
    crate::private_files::restrict_umask();
    let cli = Cli::parse();
    let config = match Config::load(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sportello: configuration error: {e:#}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sportello: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(code) => code,
        Err(e) => {
            if let Some(refused) = e.downcast_ref::<Refused>() {
                eprintln!("sportello: {refused}");
                return ExitCode::from(2);
            }
            eprintln!("sportello: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SPORTELLO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log_json {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}

/// Input refused by a rule: reported as such, exit code 2.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// A use case's error as the CLI reports it: a refusal (exit code 2) or an internal failure.
pub(crate) fn ops_err(e: ops::Error) -> anyhow::Error {
    match e {
        ops::Error::Internal(_) => anyhow::anyhow!(e.to_string()),
        _ => Refused(e.to_string()).into(),
    }
}

pub(crate) fn print<T: Serialize>(
    json: bool,
    value: &T,
    human: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(value)?);
    } else {
        println!("{}", human());
    }
    Ok(())
}

async fn run(command: Command, config: Config) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve => serve(config, true).await,
        Command::Worker => serve(config, false).await,
        Command::Migrate => {
            crate::app::prepare_files(&config)?;
            let store = store::SqlStore::connect(&config.database_url, 2).await?;
            let applied = store.migrate().await?;
            if applied.is_empty() {
                println!("database schema is up to date");
            } else {
                println!("applied migrations {applied:?}");
            }
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Healthcheck => healthcheck(&config).await,
        Command::Batch {
            command:
                BatchCmd::Send {
                    file,
                    service,
                    format,
                    idempotency_key,
                    json,
                    wait,
                },
        } => {
            let store = crate::app::open_existing_store(&config)
                .await?
                .ok_or_else(|| no_database(&config, false))?;
            let args = crate::batch_send::SendArgs {
                file: &file,
                service: &service,
                format: format.as_deref(),
                idempotency_key,
                json,
                wait,
            };
            let result = crate::batch_send::send(&config, &store, args).await;
            store.close().await;
            result
        }
        Command::Pagopa {
            command:
                PagopaCmd::Simulate {
                    url,
                    organization,
                    broker_id,
                    station_id,
                    node_key,
                    notice,
                    share,
                    from,
                    days,
                    anomalies,
                    out,
                    concurrency,
                    verifies,
                    seed,
                },
        } => {
            let refused = |m: String| anyhow::Error::from(Refused(m));
            for n in &notice {
                if n.len() != 18 || !n.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(refused(format!(
                        "--notice {n}: a notice number is 18 digits"
                    )));
                }
            }
            if notice.is_empty() && share.is_none() {
                return Err(refused(
                    "give --notice NAV… or --share PERCENT --from DATE".into(),
                ));
            }
            if let Some(s) = share
                && !(0.0..=100.0).contains(&s)
            {
                return Err(refused("--share: a percentage from 0 to 100".into()));
            }
            let from = from
                .as_deref()
                .map(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d"))
                .transpose()
                .map_err(|_| refused("--from: a date YYYY-MM-DD".into()))?;
            let args = crate::simulate::SimulateArgs {
                url,
                organization,
                broker_id,
                station_id,
                // the flag, else the key `serve` would use (SPORTELLO_PAGOPA_NODE_KEY_FILE too)
                node_key: node_key.or_else(|| config.pagopa_node_key.as_ref().map(|k| k.0.clone())),
                notices: notice,
                share,
                from,
                days,
                anomalies: crate::simulate::parse_anomalies(anomalies.as_deref())
                    .map_err(|e| refused(e.to_string()))?,
                out,
                concurrency,
                verifies,
                seed,
            };
            let store = crate::app::open_existing_store(&config).await?;
            if args.share.is_some() && store.is_none() {
                return Err(no_database(&config, false));
            }
            let today = chrono::Utc::now().date_naive();
            let result = crate::simulate::simulate(args, store.as_ref(), today).await;
            if let Some(s) = store {
                s.close().await;
            }
            println!("{}", result?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin { create, command } => {
            let store = if create {
                crate::app::open_store(&config, true).await?
            } else {
                crate::app::open_existing_store(&config)
                    .await?
                    .ok_or_else(|| no_database(&config, true))?
            };
            let result = admin(command, &config, Arc::new(store.clone()), &store).await;
            store.close().await;
            result.map(|()| ExitCode::SUCCESS)
        }
    }
}

/// Why an admin or batch command did not run: it found no database where it looked.
/// `can_create`: the command takes `--create` (admin commands do; `batch send` does not).
fn no_database(config: &Config, can_create: bool) -> anyhow::Error {
    let location = crate::app::database_location(config);
    let how = if config.is_sqlite() {
        "admin and batch commands use the database that `sportello serve` or `sportello \
         migrate` created with the same --data-dir (SPORTELLO_DATA_DIR, default \
         ./sportello-data in the current directory)"
    } else {
        "run `sportello migrate` with the same --database-url first"
    };
    let create = if can_create {
        "; pass --create to create an empty one there"
    } else {
        ""
    };
    Refused(format!(
        "no Sportello database at {location}: {how}{create}"
    ))
    .into()
}

async fn serve(config: Config, http: bool) -> anyhow::Result<ExitCode> {
    let store = crate::app::open_store(&config, false).await?;
    let listener = if http {
        Some(
            tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("cannot listen on {}", config.listen))?,
        )
    } else {
        None
    };
    let mut running = crate::app::start(&config, store, listener).await?;
    tracing::info!(
        listen = %running.addr,
        backend = if config.is_sqlite() { "sqlite" } else { "postgres" },
        workers = config.workers,
        "sportello started"
    );
    let stop = running.shutdown_sender();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        let _ = stop.send(true);
    });
    running.wait().await;
    running.stop().await;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

async fn healthcheck(config: &Config) -> anyhow::Result<ExitCode> {
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect(config.listen).await?;
        stream
            .write_all(
                format!(
                    "GET /readyz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                    config.listen
                )
                .as_bytes(),
            )
            .await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    };
    match tokio::time::timeout(std::time::Duration::from_secs(5), attempt).await {
        Ok(Ok(response)) if response.starts_with(b"HTTP/1.1 200") => {
            println!("ready");
            Ok(ExitCode::SUCCESS)
        }
        Ok(Ok(response)) => {
            let line = String::from_utf8_lossy(&response);
            println!("not ready: {}", line.lines().next().unwrap_or(""));
            Ok(ExitCode::FAILURE)
        }
        Ok(Err(e)) => {
            println!("not ready: {e}");
            Ok(ExitCode::FAILURE)
        }
        Err(_) => {
            println!("not ready: no answer within 5 s");
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn admin(
    command: Admin,
    config: &Config,
    store: Arc<dyn Store>,
    sql: &store::SqlStore,
) -> anyhow::Result<()> {
    use api::citizen::wire::CitizenView;
    use api::organizations::wire::{DelegateView, OrganizationView};
    use ops::{citizens, lifecycle, organizations};
    let s = store.as_ref();
    let ctx = ops::Context::standalone(s, &kernel::SystemClock);
    match command {
        Admin::Organization { command } => match command {
            OrganizationCmd::Create {
                fiscal_code,
                name,
                kind,
                ipa_code,
                json,
            } => {
                let org = organizations::create_organization_with_ipa(
                    ctx,
                    &fiscal_code,
                    &name,
                    kind.as_deref(),
                    ipa_code.as_deref(),
                )
                .await
                .map_err(ops_err)?;
                print(json, &OrganizationView::from(&org), || {
                    format!("organization {} created: {}", org.fiscal_code, org.name)
                })
            }
            OrganizationCmd::List { json } => {
                let orgs: Vec<OrganizationView> = s
                    .list_organizations()
                    .await?
                    .iter()
                    .map(OrganizationView::from)
                    .collect();
                print(json, &orgs, || {
                    orgs.iter()
                        .map(|o| {
                            format!(
                                "{}\t{}{}",
                                o.fiscal_code,
                                o.name,
                                if o.disabled { "\t(disabled)" } else { "" }
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                })
            }
            OrganizationCmd::Disable { target } => {
                let fiscal_code = target.get();
                organizations::set_organization_disabled(ctx, &fiscal_code, true)
                    .await
                    .map_err(ops_err)?;
                println!("organization {fiscal_code} disabled");
                Ok(())
            }
            OrganizationCmd::Enable { target } => {
                let fiscal_code = target.get();
                organizations::set_organization_disabled(ctx, &fiscal_code, false)
                    .await
                    .map_err(ops_err)?;
                println!("organization {fiscal_code} enabled");
                Ok(())
            }
        },
        Admin::Delegate { command } => match command {
            DelegateCmd::Create {
                organization,
                email,
                name,
                fiscal_code,
                role,
                json,
            } => {
                let input = organizations::DelegateInput {
                    email,
                    name,
                    fiscal_code,
                    role,
                };
                let created = organizations::add_delegate(ctx, &organization, input, "cli")
                    .await
                    .map_err(ops_err)?;
                print(json, &created, || {
                    format!(
                        "delegate {} ({}) created\nmanage key: {}",
                        created.email, created.id, created.manage_key
                    )
                })
            }
            DelegateCmd::List { organization, json } => {
                let org = organization
                    .as_deref()
                    .map(OrganizationFiscalCode::parse)
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("--organization: {e}"))?;
                let list: Vec<DelegateView> = s
                    .list_delegates(org.as_ref())
                    .await?
                    .iter()
                    .map(DelegateView::from)
                    .collect();
                print(json, &list, || {
                    list.iter()
                        .map(|d| {
                            format!(
                                "{}\t{}\t{}{}",
                                d.id,
                                d.organization_fiscal_code,
                                d.email,
                                if d.disabled { "\t(disabled)" } else { "" }
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                })
            }
            DelegateCmd::Disable { target } => {
                let id = target.get();
                let delegates = s.list_delegates(None).await?;
                let d = delegates
                    .iter()
                    .find(|d| d.id == id)
                    .ok_or_else(|| anyhow::anyhow!("no delegate with this id"))?;
                organizations::variation(
                    ctx,
                    d.organization_fiscal_code.as_str(),
                    &[],
                    std::slice::from_ref(&id),
                    "cli",
                )
                .await
                .map_err(ops_err)?;
                println!("delegate {id} disabled");
                Ok(())
            }
            DelegateCmd::RotateKey { target, json } => {
                let id = target.get();
                let key = organizations::rotate_manage_key(ctx, &id, "cli")
                    .await
                    .map_err(ops_err)?;
                print(
                    json,
                    &serde_json::json!({"id": id, "manage_key": key}),
                    || format!("new manage key: {key}"),
                )
            }
            DelegateCmd::Enable { target } => {
                let id = target.get();
                organizations::enable_delegate(ctx, &id, "cli")
                    .await
                    .map_err(ops_err)?;
                println!("delegate {id} enabled");
                Ok(())
            }
        },
        Admin::Service { command } => match command {
            ServiceCmd::Create {
                organization,
                name,
                description,
                authorized_recipients,
                authorized_cidrs,
                max_allowed_payment_amount,
                scope,
                topic_id,
                json,
            } => {
                let org = OrganizationFiscalCode::parse(&organization)
                    .map_err(|e| anyhow::anyhow!("--organization: {e}"))?;
                let org = s
                    .get_organization(&org)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("no organization has this fiscal code"))?;
                let payload = serde_json::json!({
                    "name": name, "description": description,
                    "organization": {"name": org.name, "fiscal_code": org.fiscal_code.as_str()},
                    "authorized_recipients": authorized_recipients,
                    "authorized_cidrs": authorized_cidrs,
                    "max_allowed_payment_amount": max_allowed_payment_amount,
                    "metadata": {"scope": scope, "topic_id": topic_id},
                });
                let draft = messaging::service_payload::parse_service_payload(&payload).map_err(
                    |errors| {
                        ops_err(ops::Error::Invalid {
                            title: "Invalid service",
                            errors,
                        })
                    },
                )?;
                let keyring = config.keyring()?;
                let (service, keys) = ops::services::create_from_draft(ctx, &keyring, draft, "cli")
                    .await
                    .map_err(ops_err)?;
                let out = serde_json::json!({
                    "id": service.id.to_string(),
                    "name": service.name,
                    "primary_key": keys.primary_key,
                    "secondary_key": keys.secondary_key,
                });
                print(json, &out, || {
                    format!(
                        "service {} created\nprimary key: {}\nsecondary key: {}",
                        service.id, keys.primary_key, keys.secondary_key
                    )
                })
            }
        },
        Admin::Citizen { command } => match command {
            CitizenCmd::Create {
                fiscal_code,
                email,
                mode,
                inbox_disabled,
                json,
            } => {
                let p = citizens::create_citizen(
                    ctx,
                    &fiscal_code,
                    email.as_deref(),
                    !inbox_disabled,
                    mode.as_deref(),
                )
                .await
                .map_err(ops_err)?;
                print(json, &CitizenView::from(&p), || {
                    format!("citizen profile created ({})", p.preference_mode.as_str())
                })
            }
            CitizenCmd::Session { target, json } => {
                let fiscal_code = target.get();
                let (token, session) =
                    citizens::issue_citizen_session(ctx, &fiscal_code, config.session_ttl, None)
                        .await
                        .map_err(ops_err)?;
                let expires_at = messaging::content::format_timestamp(&session.expires_at);
                let out = serde_json::json!({
                    "token": token,
                    "session_id": session.id,
                    "expires_at": expires_at,
                });
                print(json, &out, || {
                    format!(
                        "session {} (expires {expires_at})\ntoken: {token}",
                        session.id
                    )
                })
            }
        },
        Admin::Mandate { command } => match command {
            MandateCmd::Add {
                aggregator,
                organization,
                service,
            } => {
                organizations::add_mandate(
                    ctx,
                    &aggregator,
                    &organization,
                    service.as_deref(),
                    "cli",
                )
                .await
                .map_err(ops_err)?;
                println!("mandate added");
                Ok(())
            }
            MandateCmd::List { aggregator, json } => {
                let code = OrganizationFiscalCode::parse(&aggregator)
                    .map_err(|e| anyhow::anyhow!("--aggregator: {e}"))?;
                let list = s.mandates_of(&code).await?;
                print(json, &list, || {
                    list.iter()
                        .map(|m| {
                            format!(
                                "{}\t{}",
                                m.organization,
                                m.service_id
                                    .map_or_else(|| "*".to_owned(), |s| s.to_string())
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                })
            }
        },
        Admin::Review { command } => match command {
            ReviewCmd::List { json } => {
                let pending = s.pending_reviews().await?;
                let list: Vec<serde_json::Value> = pending
                    .iter()
                    .map(|p| {
                        serde_json::json!({
                            "id": p.id.to_string(),
                            "name": p.name,
                            "organization_fiscal_code": p.organization_fiscal_code.as_str(),
                            "auto_publish": p.auto_publish,
                            "submitted_at": messaging::content::format_timestamp(&p.updated_at),
                        })
                    })
                    .collect();
                print(json, &list, || {
                    pending
                        .iter()
                        .map(|p| format!("{}\t{}\t{}", p.id, p.organization_fiscal_code, p.name))
                        .collect::<Vec<_>>()
                        .join("\n")
                })
            }
            ReviewCmd::Approve { target } => {
                let service_id = target.get();
                let svc = lifecycle::approve(ctx, &service_id, "operator")
                    .await
                    .map_err(ops_err)?;
                println!("service {} approved ({})", svc.id, svc.publication.as_str());
                Ok(())
            }
            ReviewCmd::Reject { target, reason } => {
                let service_id = target.get();
                let svc = lifecycle::reject(ctx, &service_id, &reason, "operator")
                    .await
                    .map_err(ops_err)?;
                println!("service {} rejected", svc.id);
                Ok(())
            }
        },
        Admin::Payments { command } => payments_admin(command, s, sql).await,
        Admin::Jobs { command } => match command {
            JobsCmd::List { status, json } => {
                let status = status
                    .as_deref()
                    .map(|s| {
                        JobStatus::parse(s)
                            .ok_or_else(|| anyhow::anyhow!("--status: queued, running or dead"))
                    })
                    .transpose()?;
                let list = s.list_jobs(status).await?;
                print(json, &list, || {
                    list.iter()
                        .map(|j| {
                            format!(
                                "{}\t{}\t{}\tattempts={}\t{}",
                                j.id,
                                j.kind,
                                j.status.as_str(),
                                j.attempts,
                                j.last_error.as_deref().unwrap_or("")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                })
            }
            JobsCmd::Retry { target } => {
                let id = target.get();
                ops::jobs::retry(ctx, id).await.map_err(ops_err)?;
                println!("job {id} queued again");
                Ok(())
            }
        },
    }
}

async fn payments_admin(
    command: PaymentsCmd,
    messaging: &dyn Store,
    sql: &store::SqlStore,
) -> anyhow::Result<()> {
    use kernel::values::{Cidr, OrganizationFiscalCode, ServiceId};
    let allocator = ops::payments::NoticeAllocator::new(1);
    let cx = ops::payments::PayContext {
        store: sql,
        clock: &kernel::SystemClock,
        jobs_ready: &ops::NoWorkers,
        notices: &allocator,
    };
    let refused = |m: String| anyhow::Error::from(Refused(m));
    match command {
        PaymentsCmd::Enable {
            organization,
            segregation_code,
            io_service,
            cidrs,
            json,
        } => {
            let org = OrganizationFiscalCode::parse(&organization)
                .map_err(|e| refused(format!("--organization: {e}")))?;
            let codes = payments::values::parse_segregation_list(&segregation_code)
                .map_err(|e| refused(format!("--segregation-code: {e}")))?;
            let service = io_service
                .as_deref()
                .map(ServiceId::parse)
                .transpose()
                .map_err(|e| refused(format!("--io-service: {e}")))?;
            let cidrs = cidrs
                .as_deref()
                .map(|list| {
                    list.split(',')
                        .map(|c| Cidr::parse(c.trim()))
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()
                .map_err(|e| refused(format!("--cidrs: {e}")))?
                .unwrap_or_default();
            let (keys, warnings) =
                ops::payments::enable(cx, messaging, &org, codes, service, cidrs, "cli")
                    .await
                    .map_err(ops_err)?;
            for w in &warnings {
                eprintln!("warning: {w}");
            }
            print(json, &keys, || {
                format!(
                    "payments enabled for {org}\nprimary key:   {}\nsecondary key: {}",
                    keys.primary_key, keys.secondary_key
                )
            })
        }
        PaymentsCmd::Station {
            organization,
            broker_id,
            station_id,
            json,
        } => {
            let org = OrganizationFiscalCode::parse(&organization)
                .map_err(|e| refused(format!("--organization: {e}")))?;
            let station = payments::ports::Station {
                broker_id,
                station_id,
            };
            let station = ops::node::assign_station(cx, &org, station, "cli")
                .await
                .map_err(ops_err)?;
            #[derive(serde::Serialize)]
            struct Assigned<'a> {
                organization: &'a str,
                broker_id: &'a str,
                station_id: &'a str,
            }
            let out = Assigned {
                organization: org.as_str(),
                broker_id: &station.broker_id,
                station_id: &station.station_id,
            };
            print(json, &out, || {
                format!(
                    "{org} is served by station {} of broker {}",
                    station.station_id, station.broker_id
                )
            })
        }
        PaymentsCmd::RegenerateKey { organization, slot } => {
            let org = OrganizationFiscalCode::parse(&organization)
                .map_err(|e| refused(format!("--organization: {e}")))?;
            let slot = match slot.as_str() {
                "primary" => payments::ports::KeySlot::Primary,
                "secondary" => payments::ports::KeySlot::Secondary,
                _ => return Err(refused("--slot: primary or secondary".into())),
            };
            let key = ops::payments::regenerate_key(cx, &org, slot, "cli")
                .await
                .map_err(ops_err)?;
            println!("{key}");
            Ok(())
        }
    }
}
