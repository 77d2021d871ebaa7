//! What a new registry starts with: the industry list and the holiday calendar, seeded once (a year added
//! to the default calendar later is seeded then), keeping anything an administrator entered.

/// The industry code list a new registry starts with (administrators extend it).
pub const DEFAULT_INDUSTRIES: &[(&str, &str, &str)] = &[
    ("model_corpus", "模型语料", "Model corpora"),
    ("computing", "算力调度", "Computing-power scheduling"),
    ("ai", "人工智能", "Artificial intelligence"),
    ("biopharma", "生物医药", "Biopharmaceuticals"),
    ("finance", "金融服务", "Financial services"),
    ("healthcare", "医疗健康", "Healthcare"),
    ("transport", "交通运输", "Transportation"),
    ("ecommerce", "电子商务", "E-commerce"),
    ("manufacturing", "智能制造", "Manufacturing"),
    ("education_culture", "教育文化", "Education and culture"),
    ("geospatial", "时空地理", "Geospatial"),
    ("energy", "能源环保", "Energy and environment"),
    ("agriculture", "农业农村", "Agriculture"),
    ("other", "其他", "Other"),
];
use crate::audit::event;
use crate::error::Result;
use chrono::DateTime;
use chrono::Datelike;
use chrono::Utc;
use dipr_domain::access::Actor;
use dipr_domain::time::default_calendar_days;
use dipr_store::Industry;
use dipr_store::Store;
use std::collections::HashSet;

/// Seed the industry list into a database that has never had it, and each year of the default holiday
/// calendar once (so a registry seeded before a year was added gets it too), keeping any day an
/// administrator already entered.
pub async fn seed(store: &dyn Store, now: DateTime<Utc>) -> Result<()> {
    let first = store.setting("defaults_seeded").await?.is_none();
    let mut years: Vec<i32> = default_calendar_days().iter().map(|d| d.date.year()).collect();
    years.dedup();
    let mut unseeded = Vec::new();
    for y in years {
        if store.setting(&format!("calendar_seeded_{y}")).await?.is_none() {
            unseeded.push(y);
        }
    }
    if !first && unseeded.is_empty() {
        return Ok(());
    }
    let entered: HashSet<_> = store.calendar().await?.into_iter().map(|d| d.date).collect();
    let actor = Actor::system();
    let mut tx = store.begin().await?;
    for day in default_calendar_days() {
        if unseeded.contains(&day.date.year()) && !entered.contains(&day.date) {
            tx.upsert_calendar_day(&day).await?;
        }
    }
    for y in &unseeded {
        tx.set_setting(&format!("calendar_seeded_{y}"), &now.to_rfc3339()).await?;
    }
    if first {
        for (i, (code, zh, en)) in DEFAULT_INDUSTRIES.iter().enumerate() {
            let ind = Industry {
                code: (*code).into(),
                name_zh: (*zh).into(),
                name_en: (*en).into(),
                active: true,
                position: i as i64,
            };
            tx.upsert_industry(&ind).await?;
        }
        tx.set_setting("defaults_seeded", &now.to_rfc3339()).await?;
        tx.append_event(&event(&actor, now, "setting", "defaults", "defaults_seeded")).await?;
    } else {
        tx.append_event(&event(&actor, now, "setting", "calendar", "calendar_seeded")).await?;
    }
    tx.commit().await?;
    Ok(())
}
