//! Rendering throughput: single-page notices per second on one thread and on two, and the
//! average PDF size. Run with
//! `cargo run --release -p notice --bin notice-bench [-- SECONDS]`;
//! `-- --sample DIR` instead writes sample notices (single, German plan) to look at.

use std::time::{Duration, Instant};

use notice::{Creditor, Debtor, Installment, Language, Notice, Payment, render};

fn sample(i: u64) -> Notice {
    Notice {
        subject: format!("Tassa sui rifiuti 2026 (TARI) – posizione {i}"),
        language: Language::It,
        creditor: Creditor {
            fiscal_code: "00000000201".into(),
            name: "Comune di Castelrotto".into(),
            sector: Some("Ufficio Tributi".into()),
            info: Some("tributi@comune.example.it".into()),
            cbill: Some("AAAAA".into()),
            logo_png: None,
        },
        debtor: Debtor {
            fiscal_code: "RSSMRA80A01H501U".into(),
            full_name: format!("Mario Rossi {i}"),
            address: Some("Via Roma 1, 39040 Castelrotto (BZ)".into()),
        },
        payment: Payment::Single(Installment {
            nav: format!("3010{:014}", i % 100_000_000_000_000),
            amount_cents: 10_000 + (i % 100_000) as i64,
            due_date: chrono::NaiveDate::from_ymd_opt(2026, 12, 31),
        }),
    }
}

/// This process's CPU time (user + system) from `/proc/self/stat`, on Linux; the bench also
/// reports notices per CPU-second, which holds when other work shares the cores.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ is 100 on Linux
}

/// Renders for `budget` on `threads` threads; returns (notices, total bytes, elapsed).
fn run(threads: u64, budget: Duration) -> (u64, u64, Duration) {
    let start = Instant::now();
    let results: Vec<(u64, u64)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let (mut count, mut bytes) = (0u64, 0u64);
                    while start.elapsed() < budget {
                        for _ in 0..50 {
                            match render(&sample(t * 1_000_000_000 + count)) {
                                Ok(pdf) => bytes += pdf.len() as u64,
                                Err(e) => panic!("render failed: {e}"),
                            }
                            count += 1;
                        }
                    }
                    (count, bytes)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or((0, 0)))
            .collect()
    });
    let elapsed = start.elapsed();
    results
        .iter()
        .fold((0, 0, elapsed), |(n, b, e), (n2, b2)| (n + n2, b + b2, e))
}

fn write_samples(dir: &str) {
    let single = sample(1);
    let mut plan = sample(2);
    plan.language = Language::ItDe;
    plan.payment = Payment::Plan {
        single: Some(Installment {
            nav: "347123456789012389".into(),
            amount_cents: 60_000,
            due_date: None,
        }),
        installments: (1..=5)
            .map(|i| Installment {
                nav: format!("34700000000000{i:02}00"),
                amount_cents: 12_099 * i,
                due_date: chrono::NaiveDate::from_ymd_opt(2026, i as u32 + 1, 15),
            })
            .collect(),
    };
    for (name, notice) in [("sample-single.pdf", single), ("sample-plan-de.pdf", plan)] {
        let path = std::path::Path::new(dir).join(name);
        match render(&notice).map(|pdf| std::fs::write(&path, pdf)) {
            Ok(Ok(())) => println!("wrote {}", path.display()),
            Ok(Err(e)) => panic!("cannot write {}: {e}", path.display()),
            Err(e) => panic!("render failed: {e}"),
        }
    }
}

fn main() {
    if let (Some("--sample"), Some(dir)) =
        (std::env::args().nth(1).as_deref(), std::env::args().nth(2))
    {
        write_samples(&dir);
        return;
    }
    let seconds: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let budget = Duration::from_secs_f64(seconds);
    // Warm up: fonts are parsed and subset on first use.
    let warm = Instant::now();
    if let Err(e) = render(&sample(0)) {
        panic!("render failed: {e}");
    }
    println!(
        "first notice (font subsetting included): {:.1} ms",
        warm.elapsed().as_secs_f64() * 1000.0
    );
    for threads in [1, 2] {
        let cpu_before = cpu_seconds();
        let (count, bytes, elapsed) = run(threads, budget);
        let per_cpu = match (cpu_before, cpu_seconds()) {
            (Some(a), Some(b)) if b > a => {
                format!(", {:.0} per CPU-second", count as f64 / (b - a))
            }
            _ => String::new(),
        };
        println!(
            "{threads} thread(s): {count} notices in {:.2} s = {:.0} notices/s{per_cpu}, average PDF {:.1} KiB",
            elapsed.as_secs_f64(),
            count as f64 / elapsed.as_secs_f64(),
            bytes as f64 / count.max(1) as f64 / 1024.0
        );
    }
}
