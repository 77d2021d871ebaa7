//! What administrators keep: the industry list and the holiday calendar (seeded with defaults).

use dipr_domain::access::Actor;
use dipr_domain::time::CalendarDay;
use dipr_domain::FieldError;
use dipr_store::Industry;

use crate::audit::event;
use crate::error::Error;
use crate::error::Result;
use crate::state::Registry;

pub async fn upsert_industry(state: &Registry, admin: &Actor, ind: Industry) -> Result<Industry> {
    let mut errors = Vec::new();
    let code_ok = (1..=40).contains(&ind.code.len())
        && ind.code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !code_ok {
        errors.push(FieldError::new("code", "invalid_code", "1 to 40 characters: a-z, 0-9, _"));
    }
    if ind.name_zh.trim().is_empty() {
        errors.push(FieldError::new("name_zh", "required", "name_zh is required"));
    }
    if ind.name_en.trim().is_empty() {
        errors.push(FieldError::new("name_en", "required", "name_en is required"));
    }
    if !errors.is_empty() {
        return Err(Error::validation(errors));
    }
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    tx.upsert_industry(&ind).await?;
    let mut e = event(admin, now, "industry", &ind.code, "industry_saved");
    e.payload = serde_json::to_value(&ind).map_err(Error::internal)?;
    tx.append_event(&e).await?;
    tx.commit().await?;
    Ok(ind)
}

pub async fn upsert_calendar_day(state: &Registry, admin: &Actor, day: CalendarDay) -> Result<CalendarDay> {
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    tx.upsert_calendar_day(&day).await?;
    let mut e = event(admin, now, "calendar", day.date, "calendar_day_saved");
    e.payload = serde_json::to_value(&day).map_err(Error::internal)?;
    tx.append_event(&e).await?;
    tx.commit().await?;
    state.reload_calendar().await?;
    Ok(day)
}
