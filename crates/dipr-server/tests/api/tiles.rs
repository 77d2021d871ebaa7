//! Reads that scale out: the checkpoint, the tiles and the certificates carry caching headers and entity tags
//! (304 when unchanged).

use axum::http::HeaderMap;
use dipr_ledger::certificate::{LogEntry, ENTRY_VERSION};
use dipr_ledger::checkpoint::Checkpoint;
use dipr_ledger::merkle::{nodes_needed, tree_root, MapSource};
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
    for uri in ["/log/tile/0/002", "/log/tile/0/001.p/255", "/log/tile/nonsense"] {
        let (s, h, _) = get(&app, uri, None).await;
        assert_eq!((s, header(&h, "cache-control")), (StatusCode::NOT_FOUND, "no-store"), "{uri}");
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
