//! `od-bench`: open data's four targets (issue 13), each beside its ceiling measured in the
//! same run.
//!
//! 1. **Ingest**: a generated 1,000,000-row, 12-column CSV (semicolon-separated, Italian
//!    decimals in one column and English ones in two, day-first dates, codes with leading
//!    zeros, booleans, free text) posted to `POST /api/opendata/v1/datasets/{id}/resources`:
//!    the whole load (spool, type inference over the whole file, personal-data screening,
//!    typed insert, indexes) until the 201. Ceiling: the `csv` crate reading the same file
//!    record by record and doing nothing with it.
//! 2. **`datastore_search` with a filter** on that table (`filters={"comune": …}`, a random
//!    comune each request, 10 rows, exact total), one connection, closed loop. Ceiling: the
//!    bare HTTP round trip of an axum server answering a body of the same size.
//! 3. **`package_search` over 20,000 published datasets** (200 organizations, varied themes,
//!    territories, keywords, years), a mix of `q`, `fq` and facets; the first query after the
//!    seeding (the search view's rebuild) is reported apart. Same ceiling.
//! 4. **The whole catalogue as Turtle**: every `/catalog.ttl?page=N` page (100 datasets each,
//!    as a harvester walks the Hydra links) of the 20,000, back to back.
//!
//! The server is Sportello's router in this process (`inproc`); the load comes from this
//! process's client over loopback TCP. The 20,000 datasets are written through the store's
//! port (dataset plus one resource record each, no rows): the targets read them, and loading
//! 20,000 tables to get there would time the seeding, not the reads.
//!
//! `CARGO_TARGET_DIR=/work/target-release cargo run --release -p bench --bin od-bench -- --backend sqlite`

#[path = "../bare.rs"]
#[allow(
    dead_code,
    reason = "shared with sportello-bench; this binary uses a part of it"
)]
mod bare;
#[path = "../client.rs"]
#[allow(
    dead_code,
    reason = "shared with sportello-bench; this binary uses a part of it"
)]
mod client;
#[allow(
    dead_code,
    reason = "shared with sportello-bench; this binary uses a part of it"
)]
#[path = "../db.rs"]
mod db;
#[path = "../inproc.rs"]
mod inproc;
#[allow(
    dead_code,
    reason = "shared with sportello-bench; this binary uses a part of it"
)]
#[path = "../sys.rs"]
mod sys;

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use chrono::{TimeZone, Utc};
use clap::Parser;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, StatusCode};
use kernel::audit::NewAuditEntry;
use kernel::values::OrganizationFiscalCode;
use opendata::model::{
    Agent, Cell, Dataset, DatasetState, Field, FieldType, QualityReport, Resource, ResourceState,
    TableSchema,
};
use opendata::ports::OpenData;
use serde_json::{Value, json};
use sportello::config::{Config, ConfigArgs};
use store::SqlStore;

use crate::client::{Conn, Samples};
use crate::db::{BackendArg, FreshDb};

#[derive(Debug, Parser)]
#[command(
    name = "od-bench",
    about = "Open data's ingest, queries and catalogue, timed"
)]
struct Cli {
    #[arg(long, value_enum, default_value_t = BackendArg::Sqlite)]
    backend: BackendArg,
    /// Data rows of the generated CSV.
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    /// Published datasets of the search and catalogue phases.
    #[arg(long, default_value_t = 20_000)]
    datasets: usize,
    /// Organizations the datasets belong to.
    #[arg(long, default_value_t = 200)]
    organizations: usize,
    /// Requests per measured query phase.
    #[arg(long, default_value_t = 2_000)]
    requests: usize,
    /// PostgreSQL server (must be on this machine); the run gets a fresh schema in it.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
}

/// SplitMix64: the same run generates the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const CATEGORIES: [&str; 12] = [
    "Tributi",
    "Lavori pubblici",
    "Servizi sociali",
    "Istruzione",
    "Cultura",
    "Ambiente",
    "Mobilità",
    "Polizia locale",
    "Anagrafe",
    "Urbanistica",
    "Sport",
    "Turismo",
];

const NOTES: [&str; 8] = [
    "pratica evasa nei termini",
    "in attesa di documentazione integrativa",
    "intervento programmato",
    "richiesta respinta per mancanza dei requisiti",
    "",
    "sopralluogo effettuato",
    "contributo erogato",
    "istanza trasmessa all'ufficio competente",
];

/// `1.234,56`: Italian thousands and decimal separators.
fn italian_amount(cents: u64) -> String {
    let euros = cents / 100;
    let mut digits = euros.to_string();
    let mut grouped = String::new();
    while digits.len() > 3 {
        let tail = digits.split_off(digits.len() - 3);
        grouped = format!(".{tail}{grouped}");
    }
    format!("{digits}{grouped},{:02}", cents % 100)
}

/// Writes the CSV; returns the comune names used in its `comune` column and its size.
fn write_csv(path: &Path, rows: u64) -> anyhow::Result<(Vec<String>, u64)> {
    let comuni: Vec<(String, String)> = opendata::vocab::municipalities()
        .iter()
        .step_by(79)
        .take(100)
        .map(|t| (t.term.label_it.to_owned(), t.term.code.to_owned()))
        .collect();
    let file = std::fs::File::create(path).context("cannot create the CSV")?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    writeln!(
        w,
        "id;anno;comune;codice_istat;categoria;importo;quantita;data;attivo;lat;lon;note"
    )?;
    let mut rng = Rng(13);
    for i in 1..=rows {
        let (name, code) = rng.pick(&comuni);
        let day = 1 + rng.below(28);
        let month = 1 + rng.below(12);
        let year = 2015 + rng.below(10);
        writeln!(
            w,
            "{i};{year};{name};{code};{};{};{};{day:02}/{month:02}/{year};{};{:.5};{:.5};{}",
            rng.pick(&CATEGORIES),
            italian_amount(rng.below(2_500_000)),
            rng.below(500),
            if rng.below(2) == 0 { "true" } else { "false" },
            36.0 + rng.below(1_100_000) as f64 / 100_000.0,
            6.5 + rng.below(1_200_000) as f64 / 100_000.0,
            rng.pick(&NOTES),
        )?;
    }
    w.flush()?;
    let size = std::fs::metadata(path)?.len();
    Ok((comuni.into_iter().map(|(n, _)| n).collect(), size))
}

/// The ceiling of the ingest: every record of the file read by the `csv` crate.
fn raw_parse(path: &Path) -> anyhow::Result<(u64, f64)> {
    let t = Instant::now();
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_path(path)
        .context("cannot open the CSV")?;
    let mut record = csv::ByteRecord::new();
    let mut n = 0u64;
    let mut bytes = 0usize;
    while reader.read_byte_record(&mut record)? {
        n += 1;
        bytes += record.as_slice().len();
    }
    std::hint::black_box(bytes);
    Ok((n, t.elapsed().as_secs_f64()))
}

fn header(name: &'static str, value: &str) -> anyhow::Result<(HeaderName, HeaderValue)> {
    Ok((HeaderName::from_static(name), HeaderValue::from_str(value)?))
}

async fn call(
    conn: &mut Conn,
    method: Method,
    path: &str,
    headers: &[(HeaderName, HeaderValue)],
    body: Bytes,
) -> anyhow::Result<(StatusCode, Value)> {
    let (status, body) = conn.send(method, path, headers, body).await?;
    let json = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    Ok((status, json))
}

/// The Italian VAT-number check digit makes `n` an organization fiscal code.
fn fiscal_code(n: u64) -> String {
    let base = format!("{:010}", 10_000_000 + n);
    let mut sum = 0;
    for (i, c) in base.bytes().enumerate() {
        let d = u32::from(c - b'0');
        sum += if i % 2 == 0 {
            d
        } else if d * 2 > 9 {
            d * 2 - 9
        } else {
            d * 2
        };
    }
    format!("{base}{}", (10 - sum % 10) % 10)
}

/// `p50 / p90 / p99 / max` and the rate of a phase, one line.
fn report(name: &str, s: &Samples) {
    println!(
        "{name}: {} requests in {:.2} s, {:.0} req/s, latency p50/p90/p99/max {} ms",
        s.len(),
        s.elapsed.as_secs_f64(),
        s.rate(),
        s.summary()
    );
}

/// `n` requests of `path_of(i)`, one at a time on one connection; every answer must be 200.
async fn closed_loop(
    addr: std::net::SocketAddr,
    n: usize,
    mut path_of: impl FnMut(usize) -> String,
) -> anyhow::Result<(Samples, usize)> {
    let mut conn = Conn::open(addr).await?;
    let mut samples = Samples::with_capacity(n);
    let mut bytes = 0;
    let started = Instant::now();
    for i in 0..n {
        let path = path_of(i);
        let t = Instant::now();
        let (status, body) = conn.send(Method::GET, &path, &[], Bytes::new()).await?;
        samples.push(t.elapsed());
        if status != StatusCode::OK {
            bail!("{path}: {status} {}", String::from_utf8_lossy(&body));
        }
        bytes += body.len();
    }
    samples.finish(started);
    Ok((samples, bytes / n.max(1)))
}

/// The bare round trip with an answer of `size` bytes.
async fn bare_ceiling(n: usize, size: usize) -> anyhow::Result<Samples> {
    let page = Bytes::from(format!(
        "{{\"x\":\"{}\"}}",
        "a".repeat(size.saturating_sub(8))
    ));
    let server = bare::BareServer::start_with_page(page).await?;
    let (samples, _) = closed_loop(server.addr, n, |_| "/api/citizen/v1/messages".into()).await?;
    server.stop().await;
    Ok(samples)
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // The server's own log, when asked for (`RUST_LOG=warn`), on stderr.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    if cli.backend == BackendArg::Postgres {
        db::check_loopback(&cli.pg_url)?;
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let m = sys::machine();
    println!(
        "machine: {} CPUs ({}), {:.1} GiB, Linux {}; backend {}",
        m.cpus,
        m.model,
        m.memory_gib,
        m.kernel,
        cli.backend.name()
    );
    let db = FreshDb::create(cli.backend, &cli.pg_url, "sportello.db").await?;
    let result = measure(&cli, &db).await;
    let dropped = db.drop_schema().await;
    result?;
    dropped?;
    println!(
        "peak RSS of the process (VmHWM): {:.0} MiB",
        sys::peak_rss_mib().unwrap_or(0.0)
    );
    Ok(())
}

async fn measure(cli: &Cli, db: &FreshDb) -> anyhow::Result<()> {
    let args = ConfigArgs {
        data_dir: Some(db.data_dir.clone()),
        database_url: Some(db.url.clone()),
        content_keys: (cli.backend == BackendArg::Postgres)
            .then(|| seal::Keyring::generate_spec("k1")),
        ..ConfigArgs::default()
    };
    let config = Config::load(&args)?;
    let store = sportello::app::open_store(&config, true).await?;
    db.verify(store.write_pool()).await?;
    let (addr, state, stop, server) = inproc::serve(&config, store.clone()).await?;

    // 1. Ingest.
    let csv_path = db.data_dir.join("bench.csv");
    let t = Instant::now();
    let (comuni, size) = write_csv(&csv_path, cli.rows)?;
    println!(
        "generated {} rows × 12 columns, {:.1} MiB, in {:.1} s",
        cli.rows,
        size as f64 / f64::from(1 << 20),
        t.elapsed().as_secs_f64()
    );
    let (raw_rows, raw_secs) = raw_parse(&csv_path)?;
    if raw_rows != cli.rows {
        bail!("raw parse read {raw_rows} records, not {}", cli.rows);
    }
    println!(
        "ceiling: csv crate, every record of the file: {raw_secs:.2} s ({:.0} rows/s)",
        raw_rows as f64 / raw_secs
    );

    let first = fiscal_code(0);
    ops::organizations::create_organization_with_ipa(
        state.ops(),
        &first,
        "Comune di Prova",
        Some("comune"),
        Some("c_bench0"),
    )
    .await
    .map_err(|e| anyhow!("create organization: {e:?}"))?;
    let delegate = ops::organizations::create_delegate(state.ops(), &first, "od@bench.example")
        .await
        .map_err(|e| anyhow!("create delegate: {e:?}"))?;
    let key = header("ocp-apim-subscription-key", &delegate.manage_key)?;
    let json_ct = header("content-type", "application/json")?;
    let mut conn = Conn::open(addr).await?;
    let (status, body) = call(
        &mut conn,
        Method::POST,
        &format!("/api/opendata/v1/organizations/{first}/datasets"),
        &[key.clone(), json_ct.clone()],
        Bytes::from(
            json!({"title": "Pratiche dei comuni", "description": "Un milione di pratiche",
                   "themes": ["GOVE"], "frequency": "ANNUAL", "license": "A21_CCBY40",
                   "keywords": ["pratiche"]})
            .to_string(),
        ),
    )
    .await?;
    if status != StatusCode::CREATED {
        bail!("create dataset: {status} {body}");
    }
    let dataset_id = body["id"].as_str().context("dataset id")?.to_owned();
    let file = Bytes::from(std::fs::read(&csv_path)?);
    sys::reset_peak_rss();
    let cpu = sys::cpu_snapshot();
    let t = Instant::now();
    let (status, body) = call(
        &mut conn,
        Method::POST,
        &format!("/api/opendata/v1/datasets/{dataset_id}/resources?name=pratiche"),
        &[key.clone(), header("content-type", "text/csv")?],
        file,
    )
    .await?;
    let ingest = t.elapsed().as_secs_f64();
    let used = sys::cpu_between(cpu, sys::cpu_snapshot());
    if status != StatusCode::CREATED {
        bail!("upload: {status} {body}");
    }
    let report_rows = body["quality"]["row_count"].as_u64().unwrap_or(0);
    if report_rows != cli.rows {
        bail!(
            "the quality report counts {report_rows} rows: {}",
            body["quality"]
        );
    }
    let types: Vec<String> = body["schema"]["fields"]
        .as_array()
        .map(|f| {
            f.iter()
                .map(|c| {
                    format!(
                        "{}:{}",
                        c["name"].as_str().unwrap_or("?"),
                        c["type"].as_str().unwrap_or("?")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    println!(
        "ingest: POST …/resources, {} rows: {ingest:.2} s ({:.0} rows/s), {:.2}× the raw parse; cpu cores: process {:.2}, postgres {:.2}; peak RSS {:.0} MiB",
        cli.rows,
        cli.rows as f64 / ingest,
        ingest / raw_secs,
        used.process_cores,
        used.database_cores,
        sys::peak_rss_mib().unwrap_or(0.0)
    );
    println!("  inferred: {}", types.join(", "));
    println!(
        "  issues: {}, personal-data findings: {}",
        body["quality"]["issue_count"],
        body["personal_data"]
            .as_array()
            .map(|f| f
                .iter()
                .map(|x| format!("{}={}", x["column"], x["kind"]))
                .collect::<Vec<_>>()
                .join(", "))
            .unwrap_or_default()
    );
    let resource_id = body["id"].as_str().context("resource id")?.to_owned();
    // A false positive of the screening would block publication: justify it, and say so.
    for f in body["personal_data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let column = f["column"].as_str().unwrap_or("");
        let (status, body) = call(
            &mut conn,
            Method::POST,
            &format!("/api/opendata/v1/resources/{resource_id}/resolutions"),
            &[key.clone(), json_ct.clone()],
            Bytes::from(
                json!({"column": column, "action": "justify", "reason": "bench data"}).to_string(),
            ),
        )
        .await?;
        if status != StatusCode::OK {
            bail!("justify {column}: {status} {body}");
        }
    }
    let (status, body) = call(
        &mut conn,
        Method::POST,
        &format!("/api/opendata/v1/datasets/{dataset_id}/publish"),
        std::slice::from_ref(&key),
        Bytes::new(),
    )
    .await?;
    if status != StatusCode::OK {
        bail!("publish: {status} {body}");
    }
    drop(conn);

    // 2. datastore_search with a filter.
    let mut rng = Rng(7);
    let encode = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let (samples, bytes) = closed_loop(addr, cli.requests, |_| {
        let comune = rng.pick(&comuni);
        let filters = json!({ "comune": comune }).to_string();
        format!(
            "/api/3/action/datastore_search?resource_id={resource_id}&limit=10&filters={}",
            encode(&filters)
        )
    })
    .await?;
    report(
        &format!(
            "datastore_search, filters={{comune}} (≈{} of {} rows match), 10 rows + exact total, answer ≈{bytes} B",
            cli.rows / 100,
            cli.rows
        ),
        &samples,
    );
    let ceiling = bare_ceiling(cli.requests, bytes).await?;
    report("ceiling: bare axum round trip, same answer size", &ceiling);
    println!(
        "  p99 ratio to the bare round trip: {:.1}×",
        samples.percentile_ms(99.0) / ceiling.percentile_ms(99.0)
    );

    // 3. and 4.: 20,000 published datasets.
    let t = Instant::now();
    seed(&store, &state, cli.organizations, cli.datasets).await?;
    println!(
        "seeded {} published datasets in {} organizations through the store in {:.1} s",
        cli.datasets,
        cli.organizations,
        t.elapsed().as_secs_f64()
    );
    let mut conn = Conn::open(addr).await?;
    let t = Instant::now();
    let (status, body) = call(
        &mut conn,
        Method::GET,
        "/api/3/action/package_search?q=rifiuti&rows=10",
        &[],
        Bytes::new(),
    )
    .await?;
    if status != StatusCode::OK {
        bail!("package_search: {status} {body}");
    }
    println!(
        "package_search, first query after the seeding (the search view rebuilt): {:.1} ms, count {}",
        t.elapsed().as_secs_f64() * 1e3,
        body["result"]["count"]
    );
    drop(conn);
    let themes = ["GOVE", "ENVI", "TRAN", "ECON", "SOCI", "EDUC"];
    let words = [
        "rifiuti",
        "bilancio",
        "scuole",
        "parcheggi",
        "popolazione",
        "contributi",
    ];
    let mut rng = Rng(11);
    let (samples, bytes) = closed_loop(addr, cli.requests, |i| match i % 4 {
        0 => format!("/api/3/action/package_search?q={}&rows=10", rng.pick(&words)),
        1 => format!(
            "/api/3/action/package_search?fq=theme:{}&rows=10&facet.field=%5B%22organization%22%5D",
            rng.pick(&themes)
        ),
        2 => format!(
            "/api/3/action/package_search?q={}&fq=territory:{:02}&rows=10&sort=metadata_modified%20desc",
            rng.pick(&words),
            1 + rng.below(20)
        ),
        _ => format!(
            "/api/3/action/package_search?fq=organization:c_bench{}&rows=20&facet.field=%5B%22theme%22,%22res_format%22%5D",
            rng.below(cli.organizations as u64)
        ),
    })
    .await?;
    report(
        &format!(
            "package_search over {} datasets (q / fq theme + facet / q + fq territory + sort / fq organization + facets), answer ≈{bytes} B",
            cli.datasets
        ),
        &samples,
    );
    let ceiling = bare_ceiling(cli.requests, bytes).await?;
    report("ceiling: bare axum round trip, same answer size", &ceiling);
    println!(
        "  p99 ratio to the bare round trip: {:.1}×",
        samples.percentile_ms(99.0) / ceiling.percentile_ms(99.0)
    );

    let pages = (cli.datasets + 1).div_ceil(100);
    let t = Instant::now();
    let mut conn = Conn::open(addr).await?;
    let mut bytes = 0usize;
    let mut datasets = 0usize;
    for page in 1..=pages {
        let path = format!("/catalog.ttl?page={page}");
        let (status, body) = conn.send(Method::GET, &path, &[], Bytes::new()).await?;
        if status != StatusCode::OK {
            bail!("{path}: {status}");
        }
        let text = String::from_utf8_lossy(&body);
        datasets += text.matches("a dcatapit:Dataset").count();
        bytes += body.len();
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "catalogue: {pages} pages of /catalog.ttl, {datasets} datasets, {:.1} MiB of Turtle: {secs:.2} s",
        bytes as f64 / f64::from(1 << 20)
    );
    if datasets < cli.datasets {
        println!(
            "  WARNING: {datasets} datasets typed dcatapit:Dataset found, {} expected",
            cli.datasets + 1
        );
    }
    // 5. One change to the catalogue: how long a search waits, and how long until it shows.
    let (_, mut first) = store
        .list_datasets(
            &opendata::ports::DatasetFilter {
                published_only: true,
                ..Default::default()
            },
            0,
            1,
        )
        .await?;
    let mut d = first.pop().context("a published dataset")?;
    d.meta.title = format!("{} zzcambio", d.meta.title);
    let audit = NewAuditEntry {
        at: Utc::now(),
        actor: "bench".into(),
        action: "opendata.dataset.update".into(),
        subject: d.id.clone(),
        detail: json!({}),
    };
    store.update_dataset(&d, &audit).await?;
    let changed = Instant::now();
    let mut conn = Conn::open(addr).await?;
    let mut first_ms = None;
    let visible = loop {
        let t = Instant::now();
        let (status, body) = call(
            &mut conn,
            Method::GET,
            "/api/3/action/package_search?q=zzcambio&rows=1",
            &[],
            Bytes::new(),
        )
        .await?;
        if status != StatusCode::OK {
            bail!("package_search after a change: {status} {body}");
        }
        first_ms.get_or_insert(t.elapsed().as_secs_f64() * 1e3);
        if body["result"]["count"] == 1 {
            break changed.elapsed().as_secs_f64();
        }
        if changed.elapsed().as_secs() > 120 {
            bail!("the changed dataset was not found within 120 s");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    println!(
        "after one change: the next package_search answered in {:.1} ms; the change was searchable after {visible:.2} s",
        first_ms.unwrap_or(0.0)
    );
    let _ = stop.send(true);
    let _ = server.await;
    Ok(())
}

/// `n` published datasets in `orgs` organizations, each with one CSV resource record.
async fn seed(
    store: &SqlStore,
    state: &api::AppState,
    orgs: usize,
    n: usize,
) -> anyhow::Result<()> {
    let mut agents = Vec::new();
    for o in 0..orgs {
        let code = fiscal_code(1 + o as u64);
        let ipa = format!("c_bench{o}");
        ops::organizations::create_organization_with_ipa(
            state.ops(),
            &code,
            &format!("Comune di Prova {o}"),
            Some("comune"),
            Some(&ipa),
        )
        .await
        .map_err(|e| anyhow!("create organization: {e:?}"))?;
        agents.push(Agent {
            organization: OrganizationFiscalCode::parse(&code).map_err(|e| anyhow!("{e}"))?,
            identifier: ipa,
            name: format!("Comune di Prova {o}"),
        });
    }
    let themes = [
        "GOVE", "ENVI", "TRAN", "ECON", "SOCI", "EDUC", "HEAL", "AGRI", "ENER", "JUST",
    ];
    let subjects = [
        ("Raccolta dei rifiuti", "rifiuti"),
        ("Bilancio di previsione", "bilancio"),
        ("Iscritti alle scuole", "scuole"),
        ("Parcheggi pubblici", "parcheggi"),
        ("Popolazione residente", "popolazione"),
        ("Contributi erogati", "contributi"),
        ("Qualità dell'aria", "aria"),
        ("Incidenti stradali", "incidenti"),
    ];
    let comuni = opendata::vocab::municipalities();
    let mut rng = Rng(5);
    for i in 0..n {
        let agent = &agents[i % agents.len()];
        let (title, word) = rng.pick(&subjects);
        let year = 2015 + rng.below(10);
        let comune = rng.pick(comuni).term.code;
        let (first, second) = (rng.pick(&themes), rng.pick(&themes));
        let themes_of: Vec<_> = if first == second {
            vec![first]
        } else {
            vec![first, second]
        };
        let body = json!({
            "title": format!("{title} {year} ({i})"),
            "description": format!("{title} del comune, anno {year}: dati aggiornati dall'ufficio competente."),
            "themes": themes_of,
            "frequency": "ANNUAL",
            "license": "A21_CCBY40",
            "keywords": [word, format!("anno{year}")],
            "territory": [comune],
            "temporal": {"start": format!("{year}-01-01"), "end": format!("{year}-12-31")},
        });
        let meta = opendata::meta::parse(&body).map_err(|e| anyhow!("metadata: {e:?}"))?;
        let at = Utc
            .timestamp_opt(1_700_000_000 + i as i64 * 60, 0)
            .single()
            .context("time")?;
        let id = ulid::Ulid::new().to_string();
        let dataset = Dataset {
            identifier: format!("{}:{id}", agent.identifier),
            id: id.clone(),
            publisher: agent.clone(),
            meta,
            state: DatasetState::Published,
            created_at: at,
            modified_at: at,
            published_at: Some(at),
        };
        let audit = NewAuditEntry {
            at,
            actor: "bench".into(),
            action: "opendata.dataset.create".into(),
            subject: id.clone(),
            detail: json!({}),
        };
        store.create_dataset(&dataset, &audit).await?;
        let resource = Resource {
            id: ulid::Ulid::new().to_string(),
            dataset_id: id,
            name: "dati".into(),
            format: opendata::vocab::file_type("CSV").context("CSV file type")?,
            media_type: "text/csv".into(),
            byte_size: 1_024,
            version: 1,
            schema: TableSchema {
                fields: vec![Field {
                    name: "valore".into(),
                    field_type: FieldType::Integer,
                    description: None,
                    rdf_property: None,
                    decimal_char: None,
                }],
                primary_key: Vec::new(),
            },
            quality: QualityReport {
                row_count: 10,
                encoding: "UTF-8".into(),
                delimiter: Some(",".into()),
                empty_cells: 0,
                columns: Vec::new(),
                duplicate_keys: 0,
                encoding_repairs: 0,
                issues: Vec::new(),
                issue_count: 0,
            },
            findings: Vec::new(),
            state: ResourceState::Ready,
            resolutions: Vec::new(),
            created_at: at,
            modified_at: at,
        };
        // A real table with its rows, as a load leaves it (the catalogue publishes small
        // resources as linked data, so it reads them).
        let table = opendata::ports::TableRef {
            resource_id: resource.id.clone(),
            version: 1,
        };
        store.create_table(&table, &[FieldType::Integer]).await?;
        let rows: Vec<(i64, Vec<Cell>)> =
            (1..=10).map(|k| (k, vec![Cell::Integer(k * 7)])).collect();
        store
            .insert_rows(&table, &[FieldType::Integer], &rows)
            .await?;
        store.commit_load(&resource, true, None, &audit).await?;
    }
    Ok(())
}
