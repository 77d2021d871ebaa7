//! Query parameters shared by several resources, and how their pages and states are read.

use dipr_domain::application::State;
use dipr_store::{Cursor, Page};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::error::ApiResult;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// 1-based page number (default 1).
    pub page: Option<u32>,
    /// Items per page, 1–100 (default 20).
    pub per_page: Option<u32>,
}

/// Pages of a list ordered by last change, which can also continue from a cursor.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CursorParams {
    /// 1-based page number (default 1).
    pub page: Option<u32>,
    /// Items per page, 1–100 (default 20).
    pub per_page: Option<u32>,
    /// The `next` of the previous page: continue after it (every page then costs the same however deep;
    /// `page` is ignored).
    pub after: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueueParams {
    /// Comma-separated states; default: everything waiting for an examiner.
    pub state: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

pub fn page_of(page: Option<u32>, per_page: Option<u32>) -> ApiResult<Page> {
    let (p, n) = (page.unwrap_or(1), per_page.unwrap_or(20));
    if p == 0 || p > 1_000_000 || n == 0 || n > Page::MAX_PER_PAGE {
        return Err(ApiError::new("bad_request", "page must be ≥ 1 and per_page between 1 and 100"));
    }
    Ok(Page::new(p, n))
}

/// A page, or the page after a cursor.
pub fn page_after(page: Option<u32>, per_page: Option<u32>, after: Option<&str>) -> ApiResult<Page> {
    let at = page_of(page, per_page)?;
    match after.filter(|a| !a.is_empty()) {
        None => Ok(at),
        Some(a) => {
            let cursor =
                Cursor::parse(a).ok_or_else(|| ApiError::new("bad_request", "after is not a cursor from `next`"))?;
            Ok(Page::after(cursor, at.per_page))
        }
    }
}

pub fn parse_states(s: Option<&str>) -> ApiResult<Vec<State>> {
    let Some(s) = s.filter(|s| !s.is_empty()) else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for part in s.split(',') {
        match part.trim() {
            "notice" => out.extend([State::PublicNotice, State::ObjectionPending]),
            other => out.push(
                State::parse(other).ok_or_else(|| ApiError::new("bad_request", format!("unknown state {other:?}")))?,
            ),
        }
    }
    Ok(out)
}
