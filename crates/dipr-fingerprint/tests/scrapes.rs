//! What scrapers do to values, each found again: numbers with units, separators, full-width digits and
//! Unicode minus signs; times written with slashes, in local time with a declared zone, as epoch
//! seconds or as pandas' JSON milliseconds. A suspect holds 40% of the owner's records, so rewritten, among
//! foreign rows; the estimate is within its interval, and the interval within ±2 points of the truth.

use std::collections::BTreeMap;

use dipr_fingerprint::*;
use dipr_ledger::note::NoteSigner;

const OWNER: usize = 20_000;

fn secrets() -> Secrets {
    let signer = NoteSigner::new("owner.example", ed25519_dalek::SigningKey::from_bytes(&[8; 32])).unwrap();
    Secrets { sampling_key: [31; 32], salt_key: [32; 32], signer }
}

/// A flight: number, minutes in the air, miles, delay (may be negative), departure hour in UTC.
struct Flight {
    id: u64,
    air_time: u64,
    distance: u64,
    delay: i64,
    at: chrono::DateTime<chrono::Utc>,
}

fn flights(n: usize, first_id: u64) -> Vec<Flight> {
    let mut x = first_id.wrapping_add(7);
    let start = chrono::DateTime::parse_from_rfc3339("2013-01-01T10:00:00Z").unwrap().to_utc();
    (0..n as u64)
        .map(|i| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let r = x >> 20;
            Flight {
                id: first_id + i,
                air_time: 20 + r % 600,
                distance: 100 + (r >> 10) % 4900,
                delay: (r % 120) as i64 - 30,
                at: start + chrono::Duration::hours((r % 8760) as i64),
            }
        })
        .collect()
}

fn owner_csv(rows: &[Flight]) -> String {
    let mut s = String::from("flight,air_time,distance,dep_delay,time_hour\n");
    for f in rows {
        s.push_str(&format!(
            "{},{}.0,{},{}.0,{}\n",
            f.id,
            f.air_time,
            f.distance,
            f.delay,
            f.at.format("%Y-%m-%dT%H:%M:%SZ")
        ));
    }
    s
}

/// Digits as full-width characters.
fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_digit() { char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap() } else { c })
        .collect()
}

type Writer = fn(&Flight) -> String;

fn suspect(taken: &[&Flight], foreign: &[Flight], header: &str, write: Writer) -> String {
    let mut lines: Vec<String> = taken.iter().copied().chain(foreign).map(write).collect();
    lines.sort_by_key(|l| l.len() * 7919 % 1009); // interleave, deterministically
    format!("{header}\n{}\n", lines.join("\n"))
}

#[test]
fn rewritten_values_are_found_again() {
    let s = secrets();
    let owner = flights(OWNER, 1);
    let opts = Options {
        format: Format::Csv,
        product: "航班".into(),
        version: 1,
        views: Vec::new(),
        scale: 2,
        keep_fingerprints: false,
        discovery_key: None,
    };
    let fp = fingerprint(owner_csv(&owner).as_bytes(), &opts, &s, &mut |_| {}).unwrap();
    let taken: Vec<&Flight> = owner.iter().filter(|f| f.id % 5 < 2).collect();
    let truth = taken.len() as f64 / OWNER as f64;
    let foreign = flights(OWNER / 2, 1_000_000);
    let cases: Vec<(&str, &str, Writer, Option<&str>, Format)> = vec![
        (
            "units",
            "flight,air_time,distance,dep_delay,time_hour",
            |f| {
                format!(
                    "{},{} min,{} mi,{} min,{}",
                    f.id,
                    f.air_time,
                    f.distance,
                    f.delay,
                    f.at.format("%Y-%m-%dT%H:%M:%SZ")
                )
            },
            None,
            Format::Csv,
        ),
        (
            "separators, full-width digits, Unicode minus",
            "flight,air_time,distance,dep_delay,time_hour",
            |f| {
                let distance = if f.distance >= 1000 {
                    format!("\"{} {:03}\"", f.distance / 1000, f.distance % 1000)
                } else {
                    f.distance.to_string()
                };
                let delay = if f.delay < 0 { format!("−{}", -f.delay) } else { f.delay.to_string() };
                format!(
                    "{},{},{distance},{delay},{}",
                    f.id,
                    full_width(&f.air_time.to_string()),
                    f.at.format("%Y-%m-%dT%H:%M:%SZ")
                )
            },
            None,
            Format::Csv,
        ),
        (
            "times written 2013/01/01 10:00, declared UTC",
            "flight,air_time,distance,dep_delay,time_hour",
            |f| format!("{},{},{},{},{}", f.id, f.air_time, f.distance, f.delay, f.at.format("%Y/%m/%d %H:%M")),
            Some("UTC"),
            Format::Csv,
        ),
        (
            "local times, declared America/New_York",
            "flight,air_time,distance,dep_delay,time_hour",
            |f| {
                let ny: chrono_tz::Tz = "America/New_York".parse().unwrap();
                format!(
                    "{},{},{},{},{}",
                    f.id,
                    f.air_time,
                    f.distance,
                    f.delay,
                    f.at.with_timezone(&ny).format("%Y-%m-%d %H:%M:%S")
                )
            },
            Some("America/New_York"),
            Format::Csv,
        ),
        (
            "epoch seconds",
            "flight,air_time,distance,dep_delay,time_hour",
            |f| format!("{},{},{},{},{}", f.id, f.air_time, f.distance, f.delay, f.at.timestamp()),
            None,
            Format::Csv,
        ),
        (
            "pandas JSON (epoch milliseconds)",
            "",
            |f| {
                serde_json::json!({"flight": f.id, "air_time": f.air_time as f64, "distance": f.distance, "dep_delay": f.delay as f64, "time_hour": f.at.timestamp_millis()}).to_string()
            },
            None,
            Format::Jsonl,
        ),
    ];
    for (what, header, write, zone, format) in cases {
        let mut text = suspect(&taken, &foreign, header, write);
        if header.is_empty() {
            text = text.trim_start().to_string();
        }
        let zone = zone.map(|z| lenient::Zone::parse(z).unwrap());
        let tuning = Tuning { zone, ..Default::default() };
        let report = contain_with(&fp.manifest, &s, text.as_bytes(), format, None, &tuning, &mut |_| {}).unwrap();
        let v = &report.views[0];
        assert!(
            v.low <= v.estimate && v.estimate <= v.high && v.low <= truth && truth <= v.high,
            "{what}: {v:?} vs {truth}"
        );
        assert!(v.low >= truth - 0.02 && v.high <= truth + 0.02, "{what}: [{}, {}] vs {truth}", v.low, v.high);
    }
    // Evidence for local times: proven records beside the suspect's rows as written, verified in the zone
    // the bundle states, and not without it.
    let local = suspect(&taken, &foreign, "flight,air_time,distance,dep_delay,time_hour", |f| {
        let ny: chrono_tz::Tz = "America/New_York".parse().unwrap();
        format!(
            "{},{},{},{},{}",
            f.id,
            f.air_time,
            f.distance,
            f.delay,
            f.at.with_timezone(&ny).format("%Y-%m-%d %H:%M:%S")
        )
    });
    let tuning = Tuning { zone: Some(lenient::Zone::parse("America/New_York").unwrap()), ..Default::default() };
    let report = contain_with(&fp.manifest, &s, local.as_bytes(), Format::Csv, None, &tuning, &mut |_| {}).unwrap();
    let owner_text = owner_csv(&owner);
    let (proofs, matches) = evidence::prove_matches_with(
        &fp.manifest,
        &s,
        &report,
        owner_text.as_bytes().into(),
        local.as_bytes().into(),
        Format::Csv,
        &tuning,
        3,
    )
    .unwrap();
    assert_eq!(matches.len(), 3);
    assert!(matches[0].suspect["time_hour"].as_deref().unwrap().contains(' '), "as written: {:?}", matches[0]);
    let cert: dipr_ledger::certificate::Certificate = serde_json::from_value(serde_json::json!({
        "format": "", "signature": "", "log_entry": "", "proof": "", "registry_key": "", "timestamps": [],
        "statement": {"v": "", "registry": "", "registration_number": "", "certificate_number": "",
            "holder": {"kind": "", "name": "", "id_number": ""}, "product": {"name": "", "object_type": "", "industry": ""},
            "data_sources": [], "registered_at": "", "valid_from": "", "valid_until": "", "record_url": "",
            "content_commitment": {"root": fp.manifest.root, "manifest_sha256": fp.manifest.digest()}}
    }))
    .unwrap();
    let info = evidence::SuspectInfo { file_name: "s.csv".into(), sha256: String::new(), bytes: 0, records: 0 };
    let bundle = evidence::EvidenceBundle::new(cert, fp.manifest.clone(), info, &report, proofs, matches, &s.signer);
    let matched = |b: &evidence::EvidenceBundle| {
        let checks = evidence::verify(b, None, None).checks;
        let owner = checks.iter().find(|c| c.id == "owner_signature").unwrap().ok;
        (owner, checks.iter().filter(|c| c.id == "view_match" && c.ok).count())
    };
    assert_eq!(matched(&bundle), (true, 0), "read without the zone, the times differ");
    assert_eq!(matched(&bundle.read_in_zone("America/New_York", &s.signer)), (true, 3));

    // Without the declared zone, local times are not UTC times: nothing is found, and nothing false.
    let text = suspect(&taken, &foreign, "flight,air_time,distance,dep_delay,time_hour", |f| {
        let ny: chrono_tz::Tz = "America/New_York".parse().unwrap();
        format!(
            "{},{},{},{},{}",
            f.id,
            f.air_time,
            f.distance,
            f.delay,
            f.at.with_timezone(&ny).format("%Y-%m-%d %H:%M:%S")
        )
    });
    let report = contain(&fp.manifest, &s, text.as_bytes(), Format::Csv, None, &mut |_| {}).unwrap();
    let v = &report.views[0];
    assert_eq!(v.matched, 0);
    // The report says why, and what to declare.
    assert!(v.caution.as_deref().unwrap_or_default().contains("may be a false negative"), "{v:?}");
    let time = v.unread.iter().find(|u| u.column == "time_hour").expect("time_hour did not read");
    assert_eq!((time.share_unread, time.cells), (1.0, (taken.len() + foreign.len()) as u64), "times without a zone");
    assert!(time.hint.contains("--zone") && time.example.starts_with("2013-"), "{time:?}");
}

#[test]
fn converted_and_rounded_values_are_found_by_a_view_declared_after_registration() {
    let s = secrets();
    let owner = flights(OWNER, 1);
    let data = owner_csv(&owner);
    let opts = Options {
        format: Format::Csv,
        product: "航班".into(),
        version: 1,
        views: Vec::new(),
        scale: 256,
        keep_fingerprints: false,
        discovery_key: None,
    };
    let registered = fingerprint(data.as_bytes(), &opts, &s, &mut |_| {}).unwrap().manifest;
    // The scrape: hours to one decimal and kilometres, as a scraper converts and rounds them.
    let tenths_of_hours = |minutes: u64| (minutes * 10 * 2 + 60) / 120;
    let km = |miles: u64| (miles * 1_609_344 * 2 + 1_000_000) / 2_000_000;
    let taken: Vec<&Flight> = owner.iter().filter(|f| f.id % 5 < 2).collect();
    let truth = taken.len() as f64 / OWNER as f64;
    let foreign = flights(OWNER / 2, 1_000_000);
    let text = suspect(&taken, &foreign, "flight,hours,km,time_hour", |f| {
        let t = (f.air_time * 10 * 2 + 60) / 120;
        let k = (f.distance * 1_609_344 * 2 + 1_000_000) / 2_000_000;
        format!("{},{}.{},{k},{}", f.id, t / 10, t % 10, f.at.format("%Y-%m-%dT%H:%M:%SZ"))
    });
    assert_eq!((tenths_of_hours(227), km(1400)), (38, 2253));
    // The view, declared after registration: registered minutes and miles converted, then rounded.
    let view = ViewSpec {
        name: "converted".into(),
        columns: Some(vec!["flight".into(), "air_time".into(), "distance".into(), "time_hour".into()]),
        round: BTreeMap::from([("air_time".into(), 1), ("distance".into(), 0)]),
        convert: BTreeMap::from([("air_time".into(), "1/60".into()), ("distance".into(), "1.609344".into())]),
    };
    let manifest =
        add_views(&registered, &s, data.as_bytes(), std::slice::from_ref(&view), &Tuning::default(), &mut |_| {})
            .unwrap();
    manifest.verify_extends(&registered).unwrap();
    let tuning = Tuning {
        columns: BTreeMap::from([("hours".into(), "air_time".into()), ("km".into(), "distance".into())]),
        ..Default::default()
    };
    let report = contain_with(&manifest, &s, text.as_bytes(), Format::Csv, None, &tuning, &mut |_| {}).unwrap();
    let v = report.views.iter().find(|v| v.view == "converted").unwrap();
    assert!(v.low <= v.estimate && v.estimate <= v.high && v.low <= truth && truth <= v.high, "{v:?} vs {truth}");
    assert!(v.low >= truth - 0.02 && v.high <= truth + 0.02, "{v:?}");
    assert_eq!(report.views[0].matched, 0, "the full view cannot see converted values");
    // A conversion is declared on a rounded numeric column of the view, with a factor that reads.
    for (bad, why) in [("x", "n/d or a decimal"), ("-2", "n/d or a decimal")] {
        let mut v = view.clone();
        v.name = "bad".into();
        v.convert.insert("air_time".into(), bad.into());
        let e = add_views(&registered, &s, data.as_bytes(), &[v], &Tuning::default(), &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains(why), "{e}");
    }
    let mut v = view;
    v.name = "unrounded".into();
    v.round.remove("distance");
    let e = add_views(&registered, &s, data.as_bytes(), &[v], &Tuning::default(), &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("rounded"), "{e}");
}
