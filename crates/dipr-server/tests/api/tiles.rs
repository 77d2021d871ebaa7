//! Reads that scale out: the checkpoint, the tiles and the certificates carry caching headers and entity tags
//! (304 when unchanged), and `dipr_registry::tiles::export` writes the log as static files byte for byte as
//! the router serves it, incrementally — on SQLite and, when `DIPR_TEST_POSTGRES_URL` is set, PostgreSQL.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use axum::http::HeaderMap;
use dipr_ledger::certificate::{LogEntry, ENTRY_VERSION};
use dipr_ledger::checkpoint::Checkpoint;
use dipr_ledger::merkle::{leaf_hash, nodes_needed, tree_root, MapSource, MemoryTree};
use dipr_ledger::tile::{tiles_for, TileRequest};
use dipr_store::NewEvent;

use super::*;

async fn get(app: &App, uri: &str, if_none_match: Option<&str>) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut req = Request::builder().uri(uri);
    if let Some(tag) = if_none_match {
        req = req.header("if-none-match", tag);
    }
    let resp = app.router.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    (status, headers, axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap().to_vec())
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).map_or("", |v| v.to_str().unwrap())
}

/// Append `n` entries the way the registry does (an audit event each, one signed checkpoint per batch), to
/// grow the log past tile boundaries quickly.
async fn append(app: &App, n: u64) {
    let store = app.state.store.as_ref();
    let signer = &app.state.signer;
    let mut done = 0;
    while done < n {
        let mut tx = store.begin().await.unwrap();
        let mut batch = Vec::new();
        for _ in 0..(n - done).min(2_000) {
            let at = chrono::Utc::now();
            let event = NewEvent {
                at,
                actor_id: None,
                actor_name: "tiles test".into(),
                actor_role: Role::System,
                subject_type: "test".into(),
                subject_id: done.to_string(),
                kind: "test".into(),
                from_state: None,
                to_state: None,
                reasons: String::new(),
                payload: json!({}),
            };
            let id = tx.append_event(&event).await.unwrap();
            let entry = LogEntry {
                v: ENTRY_VERSION.into(),
                event_id: id,
                at: at.to_rfc3339(),
                kind: "test".into(),
                subject: done.to_string(),
                from_state: None,
                to_state: None,
                data: json!({"n": done}),
            };
            batch.push((id, entry.to_bytes()));
            done += 1;
        }
        let size = tx.log_append_batch(&batch).await.unwrap() + batch.len() as u64;
        let nodes = MapSource(tx.log_nodes(&nodes_needed(|r| tree_root(r, size))).await.unwrap());
        let root = tree_root(&nodes, size).unwrap();
        let note = Checkpoint { origin: signer.name().into(), size, root }.sign(signer);
        tx.insert_checkpoint(size, &note, chrono::Utc::now()).await.unwrap();
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn checkpoint_tiles_and_certificates_carry_caching_headers_and_answer_304() {
    let app = App::new().await;
    let (id, holder) = registered(&app).await;
    append(&app, 300).await;

    // The checkpoint: a few seconds at most, untransformed, revalidated by its tag.
    let (s, h, note) = get(&app, "/log/checkpoint", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(header(&h, "cache-control"), "public, max-age=5, no-transform");
    assert_eq!(header(&h, "content-type"), "text/plain; charset=utf-8");
    let tag = header(&h, "etag").to_string();
    assert!(tag.starts_with('"') && tag.len() == 34, "{tag}");
    let (s, h304, body) = get(&app, "/log/checkpoint", Some(&tag)).await;
    assert_eq!((s, body.len()), (StatusCode::NOT_MODIFIED, 0));
    assert_eq!((header(&h304, "etag"), header(&h304, "cache-control")), (tag.as_str(), header(&h, "cache-control")));
    assert_eq!(get(&app, "/log/checkpoint", Some("\"other\", W/\"x\"")).await.0, StatusCode::OK);
    // A new entry, a new checkpoint: the old tag no longer matches.
    append(&app, 1).await;
    let (s, h2, newer) = get(&app, "/log/checkpoint", Some(&tag)).await;
    assert_eq!(s, StatusCode::OK);
    assert_ne!((header(&h2, "etag"), &newer), (tag.as_str(), &note));

    // Tiles, full and partial: what an address holds never changes (C2SP tlog-tiles: immutable).
    let size = app.state.store.log_size().await.unwrap();
    assert!(size > 256 && size < 512, "{size}");
    let partial = format!("/log/tile/0/001.p/{}", size - 256);
    for uri in ["/log/tile/0/000", "/log/tile/entries/000", &partial, "/log/tile/1/000.p/1"] {
        let (s, h, body) = get(&app, uri, None).await;
        assert_eq!(s, StatusCode::OK, "{uri}");
        assert_eq!(header(&h, "cache-control"), "public, max-age=31536000, immutable", "{uri}");
        assert_eq!(header(&h, "content-type"), "application/octet-stream");
        let tag = header(&h, "etag").to_string();
        let (s, h304, empty) = get(&app, uri, Some(&tag)).await;
        assert_eq!((s, empty.len(), header(&h304, "etag")), (StatusCode::NOT_MODIFIED, 0, tag.as_str()), "{uri}");
        assert_eq!(header(&h304, "cache-control"), "public, max-age=31536000, immutable");
        assert!(!body.is_empty());
    }
    assert_eq!(get(&app, "/log/tile/0/000", None).await.2.len(), 8192);
    // A tile the log does not reach yet will exist later: its 404 is never kept.
    let beyond = "/log/tile/0/x018/x446/x744/x073/x709/x551/615";
    // An index whose tile would end past 2^64 (the audit's path), at every level and for entries; malformed paths.
    let overflowing = [
        "/log/tile/0/x072/x057/x594/x037/x927/935",
        "/log/tile/entries/x072/x057/x594/x037/x927/935",
        "/log/tile/7/x072/x057/x594/x037/x927/935",
        "/log/tile/0/x072/x057/x594/x037/x927/935.p/1",
    ];
    let malformed =
        ["/log/tile/0/x000/001", "/log/tile/0/1", "/log/tile/8/000", "/log/tile/0/000.p/0", "/log/tile/0/000.p/256"];
    for uri in ["/log/tile/0/002", "/log/tile/0/001.p/255", "/log/tile/nonsense", beyond]
        .into_iter()
        .chain(overflowing)
        .chain(malformed)
    {
        let (s, h, body) = get(&app, uri, None).await;
        assert_eq!((s, header(&h, "cache-control")), (StatusCode::NOT_FOUND, "no-store"), "{uri}");
        assert!(!body.is_empty(), "{uri}: a 404 says why");
    }

    // Certificates: public, revalidated on every use, 304 while unchanged.
    let json_uri = format!("/api/v1/public/records/{id}/certificate");
    let (s, h, cert) = get(&app, &json_uri, None).await;
    assert_eq!((s, header(&h, "cache-control")), (StatusCode::OK, "public, no-cache"));
    assert!(header(&h, "content-disposition").starts_with("attachment; filename=\"dipr-certificate-"));
    let tag = header(&h, "etag").to_string();
    let (s, h304, empty) = get(&app, &json_uri, Some(&tag)).await;
    assert_eq!((s, empty.len(), header(&h304, "etag")), (StatusCode::NOT_MODIFIED, 0, tag.as_str()));
    assert_eq!(get(&app, &json_uri, None).await.2, cert, "the same bytes, the same tag");

    let pdf_uri = format!("/api/v1/public/records/{id}/certificate.pdf");
    let (s, h, pdf) = get(&app, &pdf_uri, None).await;
    assert_eq!((s, header(&h, "content-type")), (StatusCode::OK, "application/pdf"));
    assert!(pdf.starts_with(b"%PDF-"));
    assert_eq!(header(&h, "cache-control"), "public, no-cache");
    let pdf_tag = header(&h, "etag").to_string();
    assert!(pdf_tag.starts_with("W/\""), "a rendering: a weak tag over its inputs, {pdf_tag}");
    let (s, h304, empty) = get(&app, &pdf_uri, Some(&pdf_tag)).await;
    assert_eq!((s, empty.len(), header(&h304, "etag")), (StatusCode::NOT_MODIFIED, 0, pdf_tag.as_str()));
    assert_eq!(get(&app, &pdf_uri, None).await.1["etag"], pdf_tag.as_str(), "stable while nothing changed");

    // The registration ends: the PDF is marked, so its tag changes and the old one gets the new PDF.
    let cancel = format!("/api/v1/applications/{id}/cancel");
    app.ok("POST", &cancel, Some(&holder), Some(json!({"text": "停止运营"}))).await;
    let (s, h, cancelled) = get(&app, &pdf_uri, Some(&pdf_tag)).await;
    assert_eq!(s, StatusCode::OK);
    assert_ne!(header(&h, "etag"), pdf_tag);
    assert_ne!(cancelled, pdf);
}

fn files_under(dir: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if name.starts_with('.') {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.strip_prefix(dir).unwrap().to_string_lossy().to_string(), p);
            }
        }
    }
    out
}

/// Every exported file is what the router serves at the same path under `/log/`; every tile the checkpoint
/// needs is there; and the checkpoint's root is recomputed from the exported entry bundles alone.
async fn matches_the_router(app: &App, dir: &Path) -> Checkpoint {
    let files = files_under(dir);
    for (rel, path) in &files {
        let (s, _, body) = get(app, &format!("/log/{rel}"), None).await;
        assert_eq!(s, StatusCode::OK, "{rel}");
        assert!(std::fs::read(path).unwrap() == body, "{rel} differs from what the server serves");
    }
    let note = std::fs::read(dir.join("checkpoint")).unwrap();
    let (cp, _) = Checkpoint::open(&note, &app.state.signer.verifier(), app.state.signer.name()).unwrap();
    for t in tiles_for(cp.size) {
        assert!(files.contains_key(&format!("tile/{}", t.path())), "tile/{} is missing", t.path());
    }
    let mut tree = MemoryTree::new();
    let bundles = tiles_for(cp.size).into_iter().filter(|t| t.level.is_none());
    for t in bundles {
        let bytes = std::fs::read(dir.join("tile").join(t.path())).unwrap();
        let level0 = std::fs::read(dir.join("tile").join(TileRequest { level: Some(0), ..t }.path())).unwrap();
        let mut rest = &bytes[..];
        let mut i = 0;
        while !rest.is_empty() {
            let n = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
            let leaf = leaf_hash(&rest[2..2 + n]);
            assert_eq!(&level0[i * 32..(i + 1) * 32], leaf.as_slice(), "level 0 holds the entries' leaf hashes");
            tree.push_leaf(leaf);
            rest = &rest[2 + n..];
            i += 1;
        }
    }
    assert_eq!(tree_root(&tree, cp.size).unwrap(), cp.root, "the exported entries make the checkpoint's tree");
    // A level 1 hash is the root of the full level 0 tile below it.
    if let Some(first) = tiles_for(cp.size).into_iter().find(|t| t.level == Some(1) && t.index == 0) {
        let level1 = std::fs::read(dir.join("tile").join(first.path())).unwrap();
        let level0 = std::fs::read(dir.join("tile/0/000")).unwrap();
        let mut sub = MemoryTree::new();
        for h in level0.chunks(32) {
            sub.push_leaf(h.try_into().unwrap());
        }
        assert_eq!(&level1[..32], tree_root(&sub, 256).unwrap().as_slice());
    }
    cp
}

fn inode(p: &Path) -> u64 {
    std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).unwrap())
}

async fn export_matches_the_router_and_grows_incrementally(app: App, other: App) {
    let (a, e, _) = actors(&app).await;
    for i in 0..3 {
        app.publish_notice(&a, &e, &format!("导出{i}")).await;
    }
    append(&app, 600 - 3).await;
    let dir = std::env::temp_dir().join(format!("dipr-export-{}", Uuid::now_v7())).join("log");
    let export = |dir: PathBuf| {
        let store = app.state.store.clone();
        async move { dipr_registry::tiles::export(store.as_ref(), &dir).await }
    };

    let first = export(dir.clone()).await.unwrap();
    let expected = tiles_for(600);
    let full = expected.iter().filter(|t| t.partial.is_none()).count() as u64;
    assert_eq!(
        first,
        dipr_registry::tiles::ExportReport {
            size: 600,
            tiles: expected.len() as u64,
            full_written: full,
            partial_written: expected.len() as u64 - full,
            kept: 0,
            checkpoint_written: true,
        }
    );
    assert_eq!((full, expected.len()), (4, 7), "0/000, 0/001, entries/000, entries/001; three partial tiles");
    assert_eq!(matches_the_router(&app, &dir).await.size, 600);
    let old_full: Vec<(PathBuf, Vec<u8>, u64)> = expected
        .iter()
        .filter(|t| t.partial.is_none())
        .map(|t| dir.join("tile").join(t.path()))
        .map(|p| (p.clone(), std::fs::read(&p).unwrap(), inode(&p)))
        .collect();

    // Nothing new: nothing written, not even the checkpoint.
    let again = export(dir.clone()).await.unwrap();
    assert_eq!((again.full_written, again.partial_written, again.kept), (0, 0, 7));
    assert!(!again.checkpoint_written);

    // Past a level 1 tile: 66,000 entries.
    append(&app, 66_000 - 600).await;
    let grown = export(dir.clone()).await.unwrap();
    let now: BTreeSet<String> = tiles_for(66_000).iter().map(TileRequest::path).collect();
    let before: BTreeSet<String> = expected.iter().map(TileRequest::path).collect();
    let new_full = tiles_for(66_000).iter().filter(|t| t.partial.is_none() && !before.contains(&t.path())).count();
    let new_partial = tiles_for(66_000).iter().filter(|t| t.partial.is_some() && !before.contains(&t.path())).count();
    assert_eq!(new_full, 2 * (257 - 2) + 1, "level 0 and entries 002 to 256, and 1/000");
    assert_eq!(
        (grown.size, grown.tiles, grown.full_written, grown.partial_written, grown.kept),
        (66_000, now.len() as u64, new_full as u64, new_partial as u64, 4)
    );
    assert!(grown.checkpoint_written);
    for (path, bytes, ino) in &old_full {
        assert_eq!((&std::fs::read(path).unwrap(), inode(path)), (bytes, *ino), "{} was rewritten", path.display());
    }
    // The partial tiles of the first checkpoint stay for clients that still hold it.
    assert!(dir.join("tile/0/002.p/88").exists() && dir.join("tile/1/000.p/2").exists());
    let cp = matches_the_router(&app, &dir).await;
    assert_eq!(cp.size, 66_000);
    assert!(dir.join("tile/1/000").exists() && dir.join("tile/2/000.p/1").exists());

    // Another log's export is refused here, and this one's checkpoint stays.
    append(&other, 10).await;
    let err = dipr_registry::tiles::export(other.state.store.as_ref(), &dir).await.unwrap_err();
    assert!(err.to_string().contains("holds the log"), "{err}");
    assert_eq!(matches_the_router(&app, &dir).await, cp);
    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

#[tokio::test]
async fn export_on_sqlite_matches_the_router_and_grows_incrementally() {
    let other = App::with(config(), dipr_ledger::note::NoteSigner::generate("other.localhost/log").unwrap()).await;
    export_matches_the_router_and_grows_incrementally(App::new().await, other).await;
}

#[tokio::test]
async fn export_on_postgres_matches_the_router_and_grows_incrementally() {
    let Ok(url) = std::env::var("DIPR_TEST_POSTGRES_URL") else {
        eprintln!("DIPR_TEST_POSTGRES_URL not set: the export is tested on SQLite only here");
        return;
    };
    let open = |name: &'static str| {
        let url = url.clone();
        async move {
            let schema = format!("tiles_{}", Uuid::now_v7().simple());
            let store = Arc::new(dipr_store::PgStore::connect_in_schema(&url, &schema).await.unwrap());
            let signer = dipr_ledger::note::NoteSigner::generate(name).unwrap();
            let state = Registry::new(store, config(), signer).await.unwrap();
            App { router: dipr_server::router(state.clone()), state, db_path: None }
        }
    };
    let (app, other) = (open("dipr-test.localhost/log").await, open("other.localhost/log").await);
    export_matches_the_router_and_grows_incrementally(app, other).await;
}
