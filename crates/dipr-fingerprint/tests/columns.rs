//! Columns recognised by content: a scraper kept 6 of the 19 columns, translated their headers to
//! Chinese and reordered them. The proposal maps every one to its registered column; with it, the view
//! over those columns finds the scraped rows, and the full view says why it cannot.

use std::collections::BTreeMap;

use dipr_fingerprint::*;
use dipr_ledger::note::NoteSigner;

fn secrets() -> Secrets {
    let signer = NoteSigner::new("owner.example", ed25519_dalek::SigningKey::from_bytes(&[9; 32])).unwrap();
    Secrets { sampling_key: [41; 32], salt_key: [42; 32], signer }
}

const HEADER: &str = "year,month,day,dep_time,sched_dep_time,dep_delay,arr_time,sched_arr_time,arr_delay,carrier,\
flight,tailnum,origin,dest,air_time,distance,hour,minute,time_hour";

/// Flights of the shape of nycflights13, all 19 columns.
fn flights(n: usize, seed: u64, first_flight: u64) -> Vec<Vec<String>> {
    let carriers = ["UA", "AA", "B6", "DL", "EV", "MQ", "US", "WN", "VX", "FL", "AS", "9E", "F9", "HA", "YV", "OO"];
    let airports = ["EWR", "LGA", "JFK"];
    let mut x = seed;
    (0..n as u64)
        .map(|i| {
            let mut r = || {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                x >> 24
            };
            let (month, day, hour, minute) = (1 + r() % 12, 1 + r() % 28, 5 + r() % 18, r() % 60);
            let dep = hour * 100 + minute;
            let delay = (r() % 90) as i64 - 15;
            let air = 30 + r() % 500;
            vec![
                "2013".into(),
                month.to_string(),
                day.to_string(),
                format!("{}.0", dep + 3),
                dep.to_string(),
                format!("{delay}.0"),
                format!("{}.0", (dep + air) % 2400),
                ((dep + air + 10) % 2400).to_string(),
                format!("{}.0", delay - 5),
                carriers[(r() % 16) as usize].into(),
                (first_flight + i).to_string(),
                format!("N{}{}", 100 + r() % 900, ["AA", "UA", "JB", "DL"][(r() % 4) as usize]),
                airports[(r() % 3) as usize].into(),
                format!("D{:02}", r() % 100),
                format!("{air}.0"),
                (air * 8).to_string(),
                hour.to_string(),
                minute.to_string(),
                format!("2013-{month:02}-{day:02}T{:02}:00:00Z", (hour + 5) % 24),
            ]
        })
        .collect()
}

#[test]
fn six_of_nineteen_columns_under_translated_headers_are_matched_by_content() {
    let s = secrets();
    let owner = flights(20_000, 1, 0);
    let mut csv = format!("{HEADER}\n");
    for row in &owner {
        csv.push_str(&row.join(","));
        csv.push('\n');
    }
    let kept = ["carrier", "flight", "tailnum", "origin", "dest", "time_hour"];
    let route = ViewSpec {
        name: "route".into(),
        columns: Some(kept.map(String::from).to_vec()),
        round: BTreeMap::new(),
        convert: BTreeMap::new(),
    };
    let opts = Options {
        format: Format::Csv,
        product: "航班".into(),
        version: 1,
        views: vec![route],
        scale: 256,
        keep_fingerprints: false,
        discovery_key: None,
    };
    let fp = fingerprint(csv.as_bytes(), &opts, &s, &mut |_| {}).unwrap();

    // The scrape: 40% of the rows among foreign ones, six columns, headers in Chinese, reordered.
    let names: BTreeMap<&str, &str> = [
        ("time_hour", "起飞时间"),
        ("dest", "目的地"),
        ("carrier", "航空公司"),
        ("tailnum", "机尾号"),
        ("origin", "出发机场"),
        ("flight", "航班号"),
    ]
    .into();
    let order = ["time_hour", "dest", "carrier", "tailnum", "origin", "flight"];
    let header: Vec<&str> = HEADER.split(',').collect();
    let at = |c: &str| header.iter().position(|h| *h == c).unwrap();
    let taken: Vec<&Vec<String>> = owner.iter().enumerate().filter(|(i, _)| i % 5 < 2).map(|(_, r)| r).collect();
    let foreign = flights(10_000, 99, 50_000);
    let mut suspect = order.iter().map(|c| names[c]).collect::<Vec<_>>().join(",") + "\n";
    for row in taken.iter().copied().chain(foreign.iter()) {
        suspect.push_str(&order.iter().map(|c| row[at(c)].as_str()).collect::<Vec<_>>().join(","));
        suspect.push('\n');
    }

    let proposal =
        propose_columns(&fp.manifest, &s, &fp.columns, suspect.as_bytes(), Format::Csv, &Tuning::default()).unwrap();
    let mapping: BTreeMap<String, String> =
        proposal.iter().map(|c| (c.suspect.clone(), c.registered.clone())).collect();
    let want: BTreeMap<String, String> = names.iter().map(|(r, s)| (s.to_string(), r.to_string())).collect();
    assert_eq!(mapping, want, "{proposal:#?}");
    assert!(proposal.iter().all(|c| c.score > c.runner_up), "{proposal:#?}");

    // Without the mapping nothing is found, and the report says the columns are missing.
    let report = contain(&fp.manifest, &s, suspect.as_bytes(), Format::Csv, None, &mut |_| {}).unwrap();
    assert!(report.views.iter().all(|v| v.matched == 0 && v.caution.is_some()));
    // With it, the view over the six columns finds the scraped rows.
    let tuning = Tuning { columns: mapping, ..Default::default() };
    let report = contain_with(&fp.manifest, &s, suspect.as_bytes(), Format::Csv, None, &tuning, &mut |_| {}).unwrap();
    let truth = taken.len() as f64 / owner.len() as f64;
    let v = report.views.iter().find(|v| v.view == "route").unwrap();
    assert!(v.low <= v.estimate && v.estimate <= v.high && v.low <= truth && truth <= v.high, "{v:?}");
    assert!(v.low >= truth - 0.02 && v.high <= truth + 0.02, "{v:?}");
    let full = &report.views[0];
    assert_eq!((full.matched, full.missing_columns.len()), (0, 13));
    assert!(full.caution.as_deref().unwrap().contains("cannot match"), "{full:?}");
}

#[test]
fn year_month_and_day_merged_into_one_date_are_split_back() {
    let s = secrets();
    let owner = flights(20_000, 3, 0);
    let mut csv = format!("{HEADER}\n");
    for row in &owner {
        csv.push_str(&row.join(","));
        csv.push('\n');
    }
    let opts = Options {
        format: Format::Csv,
        product: "航班".into(),
        version: 1,
        views: Vec::new(),
        scale: 256,
        keep_fingerprints: false,
        discovery_key: None,
    };
    let fp = fingerprint(csv.as_bytes(), &opts, &s, &mut |_| {}).unwrap();
    // The scrape writes one `date` (2013/03/05) for the first three columns.
    let taken: Vec<&Vec<String>> = owner.iter().enumerate().filter(|(i, _)| i % 5 < 2).map(|(_, r)| r).collect();
    let foreign = flights(10_000, 77, 50_000);
    let mut suspect = format!("date,{}\n", HEADER.split(',').skip(3).collect::<Vec<_>>().join(","));
    for row in taken.iter().copied().chain(foreign.iter()) {
        let (m, d): (u32, u32) = (row[1].parse().unwrap(), row[2].parse().unwrap());
        suspect.push_str(&format!("2013/{m:02}/{d:02},{}\n", row[3..].join(",")));
    }
    let report = contain(&fp.manifest, &s, suspect.as_bytes(), Format::Csv, None, &mut |_| {}).unwrap();
    assert_eq!(report.views[0].missing_columns, ["day", "month", "year"]);
    let tuning = Tuning {
        dates: BTreeMap::from([("date".to_string(), ["year".to_string(), "month".into(), "day".into()])]),
        ..Default::default()
    };
    let report = contain_with(&fp.manifest, &s, suspect.as_bytes(), Format::Csv, None, &tuning, &mut |_| {}).unwrap();
    let (v, truth) = (&report.views[0], taken.len() as f64 / owner.len() as f64);
    assert!(v.missing_columns.is_empty(), "{v:?}");
    assert!(v.low <= v.estimate && v.estimate <= v.high && v.low <= truth && truth <= v.high, "{v:?}");
    assert!(v.low >= truth - 0.02 && v.high <= truth + 0.02, "{v:?}");

    // The other way: registered as one date, scraped as year, month and day.
    let mut one_date = String::from("flight,date\n");
    for row in &owner {
        one_date.push_str(&format!("{},2013-{:0>2}-{:0>2}\n", row[10], row[1], row[2]));
    }
    let fp = fingerprint(one_date.as_bytes(), &opts, &s, &mut |_| {}).unwrap();
    let mut parts = String::from("Flight,Y,M,D\n");
    for row in taken.iter().copied().chain(foreign.iter()) {
        parts.push_str(&format!("{},{},{},{}\n", row[10], row[0], row[1], row[2]));
    }
    let tuning = Tuning {
        date_parts: BTreeMap::from([("date".to_string(), ["y".to_string(), "m".into(), "d".into()])]),
        ..Default::default()
    };
    let report = contain_with(&fp.manifest, &s, parts.as_bytes(), Format::Csv, None, &tuning, &mut |_| {}).unwrap();
    let v = &report.views[0];
    assert!(v.low <= v.estimate && v.estimate <= v.high && v.low <= truth && truth <= v.high, "{v:?}");
    assert!(v.low >= truth - 0.02 && v.high <= truth + 0.02, "{v:?}");
}
