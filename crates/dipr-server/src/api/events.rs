//! The public events in log order after a cursor, as JSON pages or as server-sent events. A client keeps the
//! index of the last event it read and asks for the ones after it; each page carries what proves it is exactly
//! the log's entries at those indexes under the published checkpoint (`dipr follow` checks it).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State as AxState;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use base64::Engine;
use futures_util::stream::{self, Stream};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiResult;
use crate::error::ErrorEnvelope;
use crate::error::Json;
use crate::error::Query;
use dipr_registry::stream::{events_after, EventPage, DEFAULT_LIMIT};
use dipr_registry::Registry;

type S = AxState<Arc<Registry>>;

/// How often a stream with nothing new looks for new events.
const POLL: Duration = Duration::from_secs(1);

pub fn routes() -> OpenApiRouter<Arc<Registry>> {
    OpenApiRouter::new().routes(routes!(events)).routes(routes!(event_stream))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventParams {
    /// The index of the last event already read; omit it to start with the first event of the log.
    pub after: Option<u64>,
    /// Events per page, 1–1000 (default 100).
    pub limit: Option<u32>,
}

/// One public event.
#[derive(Debug, Serialize, ToSchema)]
pub struct LogEvent {
    /// Its index in the log (the cursor to store once it is read).
    pub index: u64,
    /// The exact bytes the log hashes (canonical JSON, UTF-8): leaf hash = SHA-256(0x00 ‖ entry).
    pub entry: String,
    /// `entry`, read.
    #[schema(value_type = Object)]
    pub event: dipr_ledger::certificate::LogEntry,
    /// The public record page of the product the event is about.
    pub record: String,
}

/// A page of events and what proves it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventsPage {
    pub events: Vec<LogEvent>,
    /// The cursor for the next request: the last index served (or the one asked with, on an empty page).
    pub last: Option<u64>,
    /// Whether the published log holds more events after this page.
    pub more: bool,
    /// Size of the published checkpoint the page is proved against.
    pub size: u64,
    /// The published checkpoint: a signed note (C2SP tlog-checkpoint) with its cosignatures.
    pub checkpoint: String,
    /// Base64 roots of the perfect subtrees of the entries before the page, largest first.
    pub left: Vec<String>,
    /// Base64 consistency proof (RFC 9162) from the tree ending with the page to the checkpoint's tree.
    pub consistency: Vec<String>,
}

fn b64(h: &[dipr_ledger::Hash]) -> Vec<String> {
    h.iter().map(|h| base64::engine::general_purpose::STANDARD.encode(h)).collect()
}

impl From<EventPage> for EventsPage {
    fn from(p: EventPage) -> Self {
        let last = p.last();
        let end = p.start + p.events.len() as u64;
        Self {
            more: end < p.size,
            last,
            size: p.size,
            left: b64(&p.left),
            consistency: b64(&p.consistency),
            checkpoint: p.checkpoint,
            events: p
                .events
                .into_iter()
                .map(|e| LogEvent {
                    record: format!("/records/{}", e.event.subject),
                    index: e.index,
                    entry: e.entry,
                    event: e.event,
                })
                .collect(),
        }
    }
}

/// The public events after `after`, in log order, with the proof that they are exactly the log's entries at
/// those indexes: recompute the tree from `left` and the entries' leaf hashes, then check `consistency` from
/// it to the signed `checkpoint`. Served up to the published checkpoint (with a witness quorum, the newest
/// the witnesses cosigned).
#[utoipa::path(get, path = "/log/events", tag = "ledger", params(EventParams),
    responses((status = 200, body = EventsPage), (status = "4XX", body = ErrorEnvelope)))]
async fn events(AxState(st): S, Query(q): Query<EventParams>) -> ApiResult<Json<EventsPage>> {
    let page = events_after(&st, q.after, q.limit.unwrap_or(DEFAULT_LIMIT)).await?;
    Ok(Json(page.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StreamParams {
    /// The index of the last event already read (a reconnecting client's `Last-Event-ID` takes precedence).
    pub after: Option<u64>,
}

/// The same events as server-sent events, live: each `event: entry` has the event's index as its `id` and a
/// [`LogEvent`] as data; after each batch an `event: proof` carries an [`EventsPage`] without its events
/// (the checkpoint, `left` and `consistency` for the batch). A reconnecting client sends `Last-Event-ID` and
/// resumes after it.
#[utoipa::path(get, path = "/log/events/stream", tag = "ledger", params(StreamParams),
    responses((status = 200, content_type = "text/event-stream", description = "server-sent events"),
        (status = "4XX", body = ErrorEnvelope)))]
async fn event_stream(
    AxState(st): S,
    headers: HeaderMap,
    Query(q): Query<StreamParams>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let resumed = headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok());
    let after = resumed.or(q.after);
    // Refuse a bad cursor before the stream starts, with a status code.
    let first = events_after(&st, after, DEFAULT_LIMIT).await?;
    let batches = stream::unfold((st, Some(first), after), |(st, ready, after)| async move {
        let page = match ready {
            Some(p) => p,
            None => loop {
                match events_after(&st, after, DEFAULT_LIMIT).await {
                    Ok(p) if !p.events.is_empty() => break p,
                    Ok(_) => tokio::time::sleep(POLL).await,
                    Err(e) => {
                        tracing::warn!(error = %e, "event stream stopped");
                        return None;
                    }
                }
            },
        };
        let after = page.last().or(after);
        let mut out: Vec<Result<Event, Infallible>> = Vec::new();
        if !page.events.is_empty() {
            let mut page = EventsPage::from(page);
            for e in page.events.drain(..) {
                let data = serde_json::to_string(&e).expect("events serialise");
                out.push(Ok(Event::default().event("entry").id(e.index.to_string()).data(data)));
            }
            out.push(Ok(Event::default().event("proof").data(serde_json::to_string(&page).expect("serialises"))));
        }
        Some((stream::iter(out), (st, None, after)))
    });
    Ok(Sse::new(futures_util::StreamExt::flatten(batches)).keep_alive(KeepAlive::default()))
}
