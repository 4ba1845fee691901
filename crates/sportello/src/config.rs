//! Typed, layered configuration: defaults → TOML file → `SPORTELLO_*` environment → command
//! line flags (clap merges the last two). Secrets may come from `*_FILE` paths and are redacted
//! from `Debug`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use kernel::values::Cidr;
use serde::Deserialize;

/// A secret string: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Options shared by every subcommand (flags and environment).
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArgs {
    /// TOML configuration file.
    #[arg(long, env = "SPORTELLO_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Directory of the embedded database and generated keys.
    #[arg(long, env = "SPORTELLO_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// `postgres://…` to use PostgreSQL (default: embedded SQLite in the data directory).
    #[arg(long, env = "SPORTELLO_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Address to listen on.
    #[arg(long, env = "SPORTELLO_LISTEN", global = true)]
    pub listen: Option<SocketAddr>,
    /// Bearer token of the admin API (unset: admin API disabled).
    #[arg(
        long,
        env = "SPORTELLO_ADMIN_TOKEN",
        global = true,
        hide_env_values = true
    )]
    pub admin_token: Option<String>,
    #[arg(long, env = "SPORTELLO_ADMIN_TOKEN_FILE", global = true)]
    pub admin_token_file: Option<PathBuf>,
    /// Content keys, `id:base64-32-bytes[,…]`; the first seals, all open.
    #[arg(
        long,
        env = "SPORTELLO_CONTENT_KEYS",
        global = true,
        hide_env_values = true
    )]
    pub content_keys: Option<String>,
    #[arg(long, env = "SPORTELLO_CONTENT_KEYS_FILE", global = true)]
    pub content_keys_file: Option<PathBuf>,
    /// The key the pagoPA node must send as `Ocp-Apim-Subscription-Key` on
    /// `/api/pagopa/paForNode` (unset: no key; then only the CIDRs, or loopback, may call).
    #[arg(
        long,
        env = "SPORTELLO_PAGOPA_NODE_KEY",
        global = true,
        hide_env_values = true
    )]
    pub pagopa_node_key: Option<String>,
    #[arg(long, env = "SPORTELLO_PAGOPA_NODE_KEY_FILE", global = true)]
    pub pagopa_node_key_file: Option<PathBuf>,
    /// Networks the pagoPA node may call `/api/pagopa/paForNode` from (comma-separated CIDRs).
    #[arg(
        long,
        env = "SPORTELLO_PAGOPA_NODE_CIDRS",
        global = true,
        value_delimiter = ','
    )]
    pub pagopa_node_cidrs: Option<Vec<String>>,
    /// Proxies whose X-Forwarded-For is trusted (comma-separated CIDRs).
    #[arg(
        long,
        env = "SPORTELLO_TRUSTED_PROXIES",
        global = true,
        value_delimiter = ','
    )]
    pub trusted_proxies: Option<Vec<String>>,
    /// Internal networks that callbacks (and other URLs the operator did not configure) may
    /// reach, for on-premises receivers (comma-separated CIDRs, e.g. `127.0.0.0/8,10.1.0.0/16`);
    /// loopback, private, link-local and other internal destinations are refused otherwise.
    #[arg(
        long,
        env = "SPORTELLO_OUTBOUND_ALLOW_CIDRS",
        global = true,
        value_delimiter = ','
    )]
    pub outbound_allow_cidrs: Option<Vec<String>>,
    /// Worker tasks processing jobs in this process (0: none).
    #[arg(long, env = "SPORTELLO_WORKERS", global = true)]
    pub workers: Option<usize>,
    /// Job lease in milliseconds (a crashed worker's jobs are taken over after it).
    #[arg(long, env = "SPORTELLO_JOB_LEASE_MS", global = true)]
    pub job_lease_ms: Option<i64>,
    #[arg(long, env = "SPORTELLO_JOB_MAX_ATTEMPTS", global = true)]
    pub job_max_attempts: Option<i64>,
    #[arg(long, env = "SPORTELLO_JOB_BACKOFF_MS", global = true)]
    pub job_backoff_ms: Option<i64>,
    /// A batch upload idle this long (milliseconds) without completing is removed.
    #[arg(long, env = "SPORTELLO_BATCH_UPLOAD_IDLE_MS", global = true)]
    pub batch_upload_idle_ms: Option<i64>,
    /// How long a service-key look-up is reused, in milliseconds (0: never).
    #[arg(long, env = "SPORTELLO_AUTH_CACHE_MS", global = true)]
    pub auth_cache_ms: Option<u64>,
    /// Default requests per second per service (0: unlimited).
    #[arg(long, env = "SPORTELLO_RATE_LIMIT_PER_SECOND", global = true)]
    pub rate_limit_per_second: Option<u32>,
    /// Default burst above the sustained rate.
    #[arg(long, env = "SPORTELLO_RATE_LIMIT_BURST", global = true)]
    pub rate_limit_burst: Option<u32>,
    /// Default messages per service per UTC day (unset: unlimited).
    #[arg(long, env = "SPORTELLO_DAILY_QUOTA", global = true)]
    pub daily_quota: Option<u64>,
    /// Default messages per service per UTC month (unset: unlimited).
    #[arg(long, env = "SPORTELLO_MONTHLY_QUOTA", global = true)]
    pub monthly_quota: Option<u64>,
    /// Database connections per process.
    #[arg(long, env = "SPORTELLO_DB_MAX_CONNECTIONS", global = true)]
    pub db_max_connections: Option<u32>,
    /// Log format: `text` or `json`.
    #[arg(long, env = "SPORTELLO_LOG_FORMAT", global = true)]
    pub log_format: Option<String>,
    /// Absolute base URL citizens reach this installation at (links in e-mails).
    #[arg(long, env = "SPORTELLO_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// SMTP server for e-mail, `smtp://host:port` (`?tls=required` for STARTTLS) or
    /// `smtps://host:port`, with optional `user:password@`; unset: e-mail channel off.
    #[arg(
        long,
        env = "SPORTELLO_SMTP_URL",
        global = true,
        hide_env_values = true
    )]
    pub smtp_url: Option<String>,
    /// Sender of e-mails, e.g. `Comune di Esempio <noreply@comune.example.it>`.
    #[arg(long, env = "SPORTELLO_MAIL_FROM", global = true)]
    pub mail_from: Option<String>,
    /// Push gateway URL notifications are POSTed to; unset: push channel off.
    #[arg(long, env = "SPORTELLO_PUSH_URL", global = true)]
    pub push_url: Option<String>,
    /// Hours before a message's due date its reminder is sent (0: no reminders).
    #[arg(long, env = "SPORTELLO_REMINDER_LEAD_HOURS", global = true)]
    pub reminder_lead_hours: Option<u64>,
    /// Hours a citizen session lasts.
    #[arg(long, env = "SPORTELLO_SESSION_TTL_HOURS", global = true)]
    pub session_ttl_hours: Option<u64>,
    /// Seconds between reconciliation rounds (drop folder, node fetch, incremental match);
    /// 0 turns the rounds off (ingestion still wakes the match).
    #[arg(long, env = "SPORTELLO_RECON_INTERVAL_SECONDS", global = true)]
    pub recon_interval_seconds: Option<u64>,
    /// Drop folder of reporting flows and treasury statements:
    /// `<dir>/<organization fiscal code>/{flows,treasury}/`.
    #[arg(long, env = "SPORTELLO_RECON_DROP_DIR", global = true)]
    pub recon_drop_dir: Option<PathBuf>,
    /// Hours between checks that the previous month's private statistics of the platform's
    /// own data are released (messages and payments, with differential privacy); 0 turns the
    /// automatic release off (the admin route still releases).
    #[arg(long, env = "SPORTELLO_OPENDATA_STATISTICS_HOURS", global = true)]
    pub opendata_statistics_hours: Option<u64>,
    /// The node's nodeForPa SOAP endpoint, to fetch reporting flows (off when unset).
    #[arg(long, env = "SPORTELLO_PAGOPA_NODE_URL", global = true)]
    pub pagopa_node_url: Option<String>,
    /// The FdR 3 REST base URL for organizations, to fetch reporting flows (off when unset).
    #[arg(long, env = "SPORTELLO_PAGOPA_FDR_URL", global = true)]
    pub pagopa_fdr_url: Option<String>,
    /// The station's password for nodeForPa (or `_FILE`).
    #[arg(
        long,
        env = "SPORTELLO_PAGOPA_STATION_PASSWORD",
        global = true,
        hide_env_values = true
    )]
    pub pagopa_station_password: Option<String>,
    #[arg(long, env = "SPORTELLO_PAGOPA_STATION_PASSWORD_FILE", global = true)]
    pub pagopa_station_password_file: Option<PathBuf>,
    /// The subscription key sent to the node and to FdR 3 (`Ocp-Apim-Subscription-Key`).
    #[arg(
        long,
        env = "SPORTELLO_PAGOPA_API_KEY",
        global = true,
        hide_env_values = true
    )]
    pub pagopa_api_key: Option<String>,
    /// Seconds between fetches of reporting flows from the node (default 3600).
    #[arg(long, env = "SPORTELLO_PAGOPA_FETCH_INTERVAL_SECONDS", global = true)]
    pub pagopa_fetch_interval_seconds: Option<u64>,
}

/// The TOML file's shape: the same names as the flags, in snake case.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    listen: Option<SocketAddr>,
    admin_token: Option<String>,
    admin_token_file: Option<PathBuf>,
    content_keys: Option<String>,
    content_keys_file: Option<PathBuf>,
    trusted_proxies: Option<Vec<String>>,
    outbound_allow_cidrs: Option<Vec<String>>,
    pagopa_node_key: Option<String>,
    pagopa_node_key_file: Option<PathBuf>,
    pagopa_node_cidrs: Option<Vec<String>>,
    workers: Option<usize>,
    job_lease_ms: Option<i64>,
    job_max_attempts: Option<i64>,
    job_backoff_ms: Option<i64>,
    batch_upload_idle_ms: Option<i64>,
    db_max_connections: Option<u32>,
    auth_cache_ms: Option<u64>,
    rate_limit_per_second: Option<u32>,
    rate_limit_burst: Option<u32>,
    daily_quota: Option<u64>,
    monthly_quota: Option<u64>,
    log_format: Option<String>,
    public_url: Option<String>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
    push_url: Option<String>,
    reminder_lead_hours: Option<u64>,
    session_ttl_hours: Option<u64>,
    recon_interval_seconds: Option<u64>,
    recon_drop_dir: Option<PathBuf>,
    opendata_statistics_hours: Option<u64>,
    pagopa_node_url: Option<String>,
    pagopa_fdr_url: Option<String>,
    pagopa_station_password: Option<String>,
    pagopa_station_password_file: Option<PathBuf>,
    pagopa_api_key: Option<String>,
    pagopa_fetch_interval_seconds: Option<u64>,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub listen: SocketAddr,
    pub admin_token: Option<Secret>,
    /// Explicit content keys; `None` means the generated key file in the data directory.
    pub content_keys: Option<Secret>,
    /// The files secrets were read from (`*_FILE`), checked at start like the data directory.
    pub secret_files: Vec<PathBuf>,
    pub trusted_proxies: Vec<Cidr>,
    /// The key the pagoPA node must present, if any.
    pub pagopa_node_key: Option<Secret>,
    /// Where the pagoPA node may call from (empty: see `pagopa_node_key`, else loopback only).
    pub pagopa_node_cidrs: Vec<Cidr>,
    /// Internal networks outbound requests to URLs the operator did not configure may reach.
    pub outbound_allow_cidrs: Vec<Cidr>,
    pub workers: usize,
    pub job: jobs::WorkerConfig,
    pub db_max_connections: u32,
    pub auth_cache: std::time::Duration,
    pub default_limits: messaging::quota::Limits,
    pub log_json: bool,
    pub public_url: String,
    /// The e-mail channel: `None` means off.
    pub smtp_url: Option<Secret>,
    pub mail_from: String,
    /// The push channel: `None` means off.
    pub push_url: Option<String>,
    /// `None`: no due-date reminders.
    pub reminder_lead: Option<std::time::Duration>,
    pub session_ttl: std::time::Duration,
    /// `None`: no periodic reconciliation rounds.
    pub recon_interval: Option<std::time::Duration>,
    pub recon_drop_dir: Option<PathBuf>,
    /// `None`: the monthly statistics are released only through the admin route.
    pub opendata_statistics_every: Option<std::time::Duration>,
    /// Fetching reporting flows from the node: `None` when neither URL is set.
    pub node_fetch: Option<NodeFetchConfig>,
}

/// Where and how reporting flows are fetched from the pagoPA node.
#[derive(Debug, Clone)]
pub struct NodeFetchConfig {
    /// nodeForPa SOAP endpoint.
    pub soap_url: Option<String>,
    /// FdR 3 REST base URL.
    pub rest_url: Option<String>,
    pub password: Option<Secret>,
    pub api_key: Option<Secret>,
    pub interval: std::time::Duration,
}

fn read_secret(path: &Path) -> anyhow::Result<Secret> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read secret file {}", path.display()))?;
    Ok(Secret(text.trim().to_owned()))
}

impl Config {
    /// Resolves the layers.
    pub fn load(args: &ConfigArgs) -> anyhow::Result<Self> {
        let file: FileConfig = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config file {}", path.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("config file {} is not valid", path.display()))?
            }
            None => FileConfig::default(),
        };
        let data_dir = args
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("./sportello-data"));
        let database_url = match args.database_url.clone().or(file.database_url) {
            Some(url) => url,
            None => format!(
                "sqlite://{}?mode=rwc",
                data_dir.join("sportello.db").display()
            ),
        };
        let listen = args
            .listen
            .or(file.listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let admin_token = match (
            args.admin_token.clone(),
            args.admin_token_file.clone(),
            file.admin_token,
            file.admin_token_file.clone(),
        ) {
            (Some(t), _, _, _) => Some(Secret(t)),
            (None, Some(p), _, _) => Some(read_secret(&p)?),
            (None, None, Some(t), _) => Some(Secret(t)),
            (None, None, None, Some(p)) => Some(read_secret(&p)?),
            _ => None,
        };
        let pagopa_node_key = match (
            args.pagopa_node_key.clone(),
            args.pagopa_node_key_file.clone(),
            file.pagopa_node_key,
            file.pagopa_node_key_file.clone(),
        ) {
            (Some(t), _, _, _) => Some(Secret(t)),
            (None, Some(p), _, _) => Some(read_secret(&p)?),
            (None, None, Some(t), _) => Some(Secret(t)),
            (None, None, None, Some(p)) => Some(read_secret(&p)?),
            _ => None,
        };
        if pagopa_node_key.as_ref().is_some_and(|t| t.0.len() < 16) {
            bail!("the pagoPA node key must be at least 16 characters long");
        }
        let pagopa_node_cidrs = args
            .pagopa_node_cidrs
            .clone()
            .or(file.pagopa_node_cidrs)
            .unwrap_or_default()
            .iter()
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                Cidr::parse(s.trim()).map_err(|e| {
                    anyhow::anyhow!("SPORTELLO_PAGOPA_NODE_CIDRS: `{}`: {e}", s.trim())
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let soap_url = args.pagopa_node_url.clone().or(file.pagopa_node_url);
        let rest_url = args.pagopa_fdr_url.clone().or(file.pagopa_fdr_url);
        for (name, url) in [
            ("SPORTELLO_PAGOPA_NODE_URL", &soap_url),
            ("SPORTELLO_PAGOPA_FDR_URL", &rest_url),
        ] {
            if let Some(u) = url
                && !(u.starts_with("http://") || u.starts_with("https://"))
            {
                bail!("{name}: `{u}` is not an http(s) URL");
            }
        }
        let node_fetch = if soap_url.is_some() || rest_url.is_some() {
            let password = match (
                args.pagopa_station_password.clone(),
                args.pagopa_station_password_file.clone(),
                file.pagopa_station_password,
                file.pagopa_station_password_file.clone(),
            ) {
                (Some(t), _, _, _) => Some(Secret(t)),
                (None, Some(p), _, _) => Some(read_secret(&p)?),
                (None, None, Some(t), _) => Some(Secret(t)),
                (None, None, None, Some(p)) => Some(read_secret(&p)?),
                _ => None,
            };
            Some(NodeFetchConfig {
                soap_url,
                rest_url,
                password,
                api_key: args
                    .pagopa_api_key
                    .clone()
                    .or(file.pagopa_api_key)
                    .map(Secret),
                interval: std::time::Duration::from_secs(
                    args.pagopa_fetch_interval_seconds
                        .or(file.pagopa_fetch_interval_seconds)
                        .unwrap_or(3_600)
                        .max(1),
                ),
            })
        } else {
            None
        };
        let secret_files: Vec<PathBuf> = [
            &args.admin_token_file,
            &file.admin_token_file,
            &args.pagopa_node_key_file,
            &file.pagopa_node_key_file,
            &args.content_keys_file,
            &file.content_keys_file,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
        if admin_token.as_ref().is_some_and(|t| t.0.len() < 16) {
            bail!("the admin token must be at least 16 characters long");
        }
        let content_keys = match (
            args.content_keys.clone(),
            args.content_keys_file.clone(),
            file.content_keys,
            file.content_keys_file.clone(),
        ) {
            (Some(t), _, _, _) => Some(Secret(t)),
            (None, Some(p), _, _) => Some(read_secret(&p)?),
            (None, None, Some(t), _) => Some(Secret(t)),
            (None, None, None, Some(p)) => Some(read_secret(&p)?),
            _ => None,
        };
        let trusted_proxies = args
            .trusted_proxies
            .clone()
            .or(file.trusted_proxies)
            .unwrap_or_default()
            .iter()
            .filter(|s| !s.trim().is_empty())
            .map(|s| Cidr::parse(s.trim()).map_err(|e| anyhow::anyhow!("trusted proxy `{s}`: {e}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let outbound_allow_cidrs = args
            .outbound_allow_cidrs
            .clone()
            .or(file.outbound_allow_cidrs)
            .unwrap_or_default()
            .iter()
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                Cidr::parse(s.trim()).map_err(|e| {
                    anyhow::anyhow!("SPORTELLO_OUTBOUND_ALLOW_CIDRS: `{}`: {e}", s.trim())
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let defaults = jobs::WorkerConfig::default();
        let job = jobs::WorkerConfig {
            lease_ms: args
                .job_lease_ms
                .or(file.job_lease_ms)
                .unwrap_or(defaults.lease_ms),
            max_attempts: args
                .job_max_attempts
                .or(file.job_max_attempts)
                .unwrap_or(defaults.max_attempts),
            backoff_base_ms: args
                .job_backoff_ms
                .or(file.job_backoff_ms)
                .unwrap_or(defaults.backoff_base_ms),
            upload_idle_ms: args
                .batch_upload_idle_ms
                .or(file.batch_upload_idle_ms)
                .unwrap_or(defaults.upload_idle_ms),
            archive_dir: data_dir.join("archives"),
            ..defaults
        };
        if job.lease_ms < 100 || job.max_attempts < 1 || job.backoff_base_ms < 1 {
            bail!("job settings out of range: lease ≥ 100 ms, attempts ≥ 1, back-off ≥ 1 ms");
        }
        if job.upload_idle_ms < 1_000 {
            bail!("the batch upload idle time must be at least 1000 ms");
        }
        let log_format = args
            .log_format
            .clone()
            .or(file.log_format)
            .unwrap_or_else(|| "text".to_owned());
        if log_format != "text" && log_format != "json" {
            bail!("log format must be `text` or `json`");
        }
        let public_url = args
            .public_url
            .clone()
            .or(file.public_url)
            .unwrap_or_else(|| format!("http://{listen}"));
        let public_url = public_url.trim_end_matches('/').to_owned();
        match url::Url::parse(&public_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => bail!("the public URL must be an absolute http(s) URL, got `{public_url}`"),
        }
        let push_url = args.push_url.clone().or(file.push_url);
        if let Some(p) = &push_url {
            match url::Url::parse(p) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
                _ => bail!("the push gateway URL must be an absolute http(s) URL"),
            }
        }
        let hours = |h: u64| std::time::Duration::from_secs(h.saturating_mul(3_600));
        let session_ttl_hours = args
            .session_ttl_hours
            .or(file.session_ttl_hours)
            .unwrap_or(24 * 30);
        if session_ttl_hours == 0 {
            bail!("the session lifetime must be at least one hour");
        }
        Ok(Self {
            public_url,
            smtp_url: args.smtp_url.clone().or(file.smtp_url).map(Secret),
            mail_from: args
                .mail_from
                .clone()
                .or(file.mail_from)
                .unwrap_or_else(|| "Sportello <noreply@localhost>".to_owned()),
            push_url,
            reminder_lead: match args.reminder_lead_hours.or(file.reminder_lead_hours) {
                Some(0) => None,
                Some(h) => Some(hours(h)),
                None => Some(hours(72)),
            },
            session_ttl: hours(session_ttl_hours),
            recon_interval: match args
                .recon_interval_seconds
                .or(file.recon_interval_seconds)
                .unwrap_or(60)
            {
                0 => None,
                n => Some(std::time::Duration::from_secs(n)),
            },
            recon_drop_dir: args.recon_drop_dir.clone().or(file.recon_drop_dir),
            opendata_statistics_every: match args
                .opendata_statistics_hours
                .or(file.opendata_statistics_hours)
                .unwrap_or(6)
            {
                0 => None,
                h => Some(hours(h)),
            },
            node_fetch,
            data_dir,
            database_url,
            listen,
            admin_token,
            content_keys,
            secret_files,
            trusted_proxies,
            pagopa_node_key,
            pagopa_node_cidrs,
            outbound_allow_cidrs,
            workers: args.workers.or(file.workers).unwrap_or(2),
            job,
            db_max_connections: args
                .db_max_connections
                .or(file.db_max_connections)
                .unwrap_or(8),
            auth_cache: std::time::Duration::from_millis(
                args.auth_cache_ms.or(file.auth_cache_ms).unwrap_or(1_000),
            ),
            default_limits: {
                let rate = args
                    .rate_limit_per_second
                    .or(file.rate_limit_per_second)
                    .unwrap_or(0);
                messaging::quota::Limits {
                    rate_per_second: rate,
                    burst: args
                        .rate_limit_burst
                        .or(file.rate_limit_burst)
                        .unwrap_or(rate.saturating_mul(2)),
                    daily_quota: args.daily_quota.or(file.daily_quota),
                    monthly_quota: args.monthly_quota.or(file.monthly_quota),
                }
            },
            log_json: log_format == "json",
        })
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }

    /// The content keyring: configured keys, or (embedded default only) a key file generated in
    /// the data directory on first use.
    pub fn keyring(&self) -> anyhow::Result<seal::Keyring> {
        if let Some(spec) = &self.content_keys {
            return seal::Keyring::parse(&spec.0).context("SPORTELLO_CONTENT_KEYS");
        }
        if !self.is_sqlite() {
            bail!(
                "with PostgreSQL every node must share the content keys: set \
                 SPORTELLO_CONTENT_KEYS or SPORTELLO_CONTENT_KEYS_FILE"
            );
        }
        let path = self.data_dir.join("content-keys");
        if !path.exists() {
            std::fs::create_dir_all(&self.data_dir)?;
            write_private(&path, &seal::Keyring::generate_spec("k1"))?;
            tracing::info!(path = %path.display(), "generated a content key file");
        }
        let spec = read_secret(&path)?;
        seal::Keyring::parse(&spec.0).with_context(|| format!("key file {}", path.display()))
    }
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_embedded_database_on_localhost_8080() {
        let c = Config::load(&ConfigArgs::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("./sportello-data"));
        assert!(c.is_sqlite());
        assert!(
            c.database_url
                .ends_with("sportello-data/sportello.db?mode=rwc")
        );
    }

    #[test]
    fn the_file_is_overridden_by_flags_and_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\nworkers = 5\ndata_dir = \"/srv/s\"\n",
        )
        .unwrap();
        let args = ConfigArgs {
            config: Some(path),
            listen: Some("127.0.0.1:9100".parse().unwrap()),
            ..Default::default()
        };
        let c = Config::load(&args).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:9100");
        assert_eq!(c.workers, 5);
        assert_eq!(c.data_dir, PathBuf::from("/srv/s"));
    }

    #[test]
    fn unknown_file_settings_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        std::fs::write(&path, "lissten = \"x\"\n").unwrap();
        let err = Config::load(&ConfigArgs {
            config: Some(path),
            ..Default::default()
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("lissten"));
    }

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let token = "super-secret-admin-token-123";
        let keys = seal::Keyring::generate_spec("k1");
        let c = Config::load(&ConfigArgs {
            admin_token: Some(token.into()),
            content_keys: Some(keys.clone()),
            ..Default::default()
        })
        .unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains(token));
        assert!(!shown.contains(keys.split_once(':').unwrap().1));
        assert!(shown.contains("[redacted]"));
    }

    #[test]
    fn the_outbound_allow_list_is_read_from_flags_or_file_and_checked() {
        let c = Config::load(&ConfigArgs::default()).unwrap();
        assert!(
            c.outbound_allow_cidrs.is_empty(),
            "nothing internal by default"
        );
        let c = Config::load(&ConfigArgs {
            outbound_allow_cidrs: Some(vec!["127.0.0.0/8".into(), " 10.1.0.0/16".into()]),
            ..Default::default()
        })
        .unwrap();
        let shown: Vec<String> = c
            .outbound_allow_cidrs
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(shown, ["127.0.0.0/8", "10.1.0.0/16"]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        std::fs::write(&path, "outbound_allow_cidrs = [\"::1\"]\n").unwrap();
        let c = Config::load(&ConfigArgs {
            config: Some(path),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.outbound_allow_cidrs[0].to_string(), "::1/128");
        let err = Config::load(&ConfigArgs {
            outbound_allow_cidrs: Some(vec!["10.1.0.0/33".into()]),
            ..Default::default()
        })
        .unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("SPORTELLO_OUTBOUND_ALLOW_CIDRS"), "{text}");
        assert!(text.contains("10.1.0.0/33"), "{text}");
    }

    #[test]
    fn secrets_are_read_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "from-a-file-0123456789\n").unwrap();
        let c = Config::load(&ConfigArgs {
            admin_token_file: Some(path),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.admin_token.unwrap().0, "from-a-file-0123456789");
    }
}
