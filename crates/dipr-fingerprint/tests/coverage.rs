//! Sampling: every view keeps enough sampled records for ±2 points at 95%, or all of them; the 95%
//! intervals hold the truth at their nominal rate over 200 independent trials with fresh keys; small data
//! is measured exactly. (The caution on too few samples, which only older manifests can give, is tested
//! in compat.rs.)

use dipr_fingerprint::*;

fn table(n: usize, first: u64) -> Vec<String> {
    let mut x = first.wrapping_mul(31).wrapping_add(5);
    (0..n as u64)
        .map(|i| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            format!("{},{},{}.{:02},{}", first + i, (x >> 40) % 1000, (x >> 20) % 10_000, (x >> 8) % 100, i % 7)
        })
        .collect()
}

fn csv(rows: &[&String]) -> String {
    let mut s = String::from("id,group,price,day\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

fn options(views: Vec<ViewSpec>) -> Options {
    Options {
        format: Format::Csv,
        product: "覆盖".into(),
        version: 1,
        views,
        scale: 1 << 20,
        keep_fingerprints: false,
        discovery_key: None,
    }
}

#[test]
fn intervals_hold_the_truth_at_their_nominal_rate() {
    const N: usize = 20_000;
    let owner = table(N, 0);
    let owner_csv = csv(&owner.iter().collect::<Vec<_>>());
    // 30% of the owner's rows among as many foreign ones.
    let taken: Vec<&String> = owner.iter().enumerate().filter(|(i, _)| i % 10 < 3).map(|(_, r)| r).collect();
    let truth = taken.len() as f64 / N as f64;
    let foreign = table(N / 3, 10_000_000);
    let suspect = csv(&taken.iter().copied().chain(foreign.iter()).collect::<Vec<_>>());
    // A projection with few distinct records keeps every one of them.
    let group = ViewSpec {
        name: "group".into(),
        columns: Some(vec!["group".into()]),
        round: Default::default(),
        convert: Default::default(),
    };
    let (trials, mut held, mut worst) = (200, 0, 0.0f64);
    for _ in 0..trials {
        let s = Secrets::generate("owner").unwrap();
        let fp = fingerprint(owner_csv.as_bytes(), &options(vec![group.clone()]), &s, &mut |_| {}).unwrap();
        let full = &fp.manifest.views[0];
        assert!(full.sketch.len() as u64 >= MIN_SAMPLE && full.sketch.len() <= SAMPLE_CAP, "{}", full.sketch.len());
        assert_eq!(fp.manifest.views[1].scale, Some(1), "1,000 distinct groups: all kept");
        let report = contain(&fp.manifest, &s, suspect.as_bytes(), Format::Csv, None, &mut |_| {}).unwrap();
        let v = &report.views[0];
        assert_eq!(v.mode, "sketch");
        assert!(v.high - v.low <= 0.04 && v.caution.is_none(), "{v:?}");
        held += usize::from(v.low <= truth && truth <= v.high);
        worst = worst.max((v.estimate - truth).abs());
        let g = &report.views[1];
        assert_eq!((g.mode, g.low, g.high, g.estimate), ("exact", g.estimate, g.estimate, 1.0), "every group is there");
    }
    let coverage = held as f64 / trials as f64;
    assert!(coverage >= 0.94, "{held} of {trials} intervals held the truth; worst error {worst}");
}

#[test]
fn small_data_is_measured_exactly_and_the_declared_scale_is_a_ceiling() {
    let owner = table(3_000, 0);
    let s = Secrets::generate("owner").unwrap();
    let fp = fingerprint(csv(&owner.iter().collect::<Vec<_>>()).as_bytes(), &options(vec![]), &s, &mut |_| {}).unwrap();
    assert_eq!(fp.manifest.views[0].scale, Some(1));
    assert_eq!(fp.manifest.views[0].sketch.len(), 3_000);
    let taken: Vec<&String> = owner.iter().step_by(3).collect();
    let report = contain(&fp.manifest, &s, csv(&taken).as_bytes(), Format::Csv, None, &mut |_| {}).unwrap();
    let v = &report.views[0];
    assert_eq!((v.mode, v.matched, v.low, v.high), ("exact", 1_000, v.estimate, v.estimate));
    // A declared scale is a ceiling: it never leaves a view with fewer samples than the cap allows.
    let mut opts = options(vec![]);
    opts.scale = 2;
    let big = table(20_000, 0);
    let fp = fingerprint(csv(&big.iter().collect::<Vec<_>>()).as_bytes(), &opts, &s, &mut |_| {}).unwrap();
    assert_eq!(fp.manifest.views[0].scale, Some(2));
    opts.scale = 256;
    let fp = fingerprint(csv(&big.iter().collect::<Vec<_>>()).as_bytes(), &opts, &s, &mut |_| {}).unwrap();
    assert_eq!(fp.manifest.views[0].scale, Some(4), "20,000 records: 5,000 samples, not 78");
}
