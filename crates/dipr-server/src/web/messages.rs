//! The web interface's words for every stable code: the API's error codes (`ERROR_CODES`) and the field
//! codes forms report in `details[].code`. One table, Chinese and English, so a page never shows a raw
//! code or an untranslated English message. A test walks the sources for every code they can produce
//! and fails if one is missing here.

use crate::web::i18n::Lang;

/// code → (zh-CN, en).
const MESSAGES: &[(&str, &str, &str)] = &[
    // Request-level errors (ERROR_CODES).
    ("bad_request", "请求格式有误。", "The request is malformed."),
    ("invalid_json", "提交的内容格式有误。", "The submitted content is malformed."),
    ("unsupported_media_type", "不支持的内容类型。", "Unsupported content type."),
    ("payload_too_large", "文件过大。", "The file is too large."),
    ("unauthenticated", "请先登录。", "Please sign in first."),
    ("invalid_credentials", "用户名或密码错误。", "Wrong username or password."),
    (
        "sign_in_throttled",
        "登录尝试过于频繁，请稍后再试。",
        "Too many sign-in attempts; please wait a little and try again.",
    ),
    (
        "objections_throttled",
        "异议提交过于频繁，请稍后再试（登录后提交不受此记录的匿名限额限制）。",
        "Too many objections right now; please try again later (signed-in objectors are not held to this \
         record's anonymous limit).",
    ),
    (
        "sign_ups_throttled",
        "从此处注册的账号过多，请稍后再试。",
        "Too many accounts were created from here; please try again later.",
    ),
    ("request_timeout", "请求超时，请重试。", "The request took too long; please try again."),
    ("forbidden", "您无权进行此操作。", "You may not do this."),
    ("conflict_of_interest", "审查员不得审查本人或关联方的申请。", "You may not decide on a filing you are party to."),
    ("not_found", "未找到。", "Not found."),
    ("clock_not_adjustable", "本服务器使用真实时钟，不能调整。", "This server runs on the real clock."),
    ("validation_failed", "部分内容有误，请按提示修改。", "Some fields need attention; see the notes next to them."),
    ("invalid_credit_code", "统一社会信用代码无效（校验位不符）。", "Not a valid unified social credit code."),
    ("invalid_resident_id", "居民身份证号码无效。", "Not a valid resident ID number."),
    ("invalid_registration_number", "登记号格式无效。", "Not a valid registration number."),
    ("invalid_certificate_number", "证书编号格式无效。", "Not a valid certificate number."),
    ("invalid_period", "期间格式无效（如 10wd、30d、3m、3y）。", "Not a valid period (e.g. 10wd, 30d, 3m, 3y)."),
    ("reasons_required", "此决定必须写明理由。", "This decision must state its reasons."),
    ("weak_password", "密码至少 10 个字符。", "Passwords need at least 10 characters."),
    (
        "invalid_manifest",
        "数据指纹清单无效：格式错误、未签名或内容不一致。",
        "The fingerprint manifest is malformed, unsigned or inconsistent.",
    ),
    (
        "discovery_key_mismatch",
        "该清单不是用本登记机构的发现密钥生成的（dipr fingerprint --discovery-key）。",
        "The manifest was not made with this registry's discovery key (dipr fingerprint --discovery-key).",
    ),
    ("no_manifest", "该申请尚未提交数据指纹清单。", "The application has no fingerprint manifest."),
    ("invalid_idempotency_key", "请求的幂等键无效（应为 8 至 128 个可打印 ASCII 字符）。", "The idempotency key is invalid (8 to 128 printable ASCII characters)."),
    (
        "idempotency_key_reused",
        "此表单（或幂等键）已用于另一项请求，请刷新页面后重新填写。",
        "This form (or idempotency key) was already used for a different request; reload the page and fill it in again.",
    ),
    ("request_in_progress", "同一请求仍在处理中，请稍后刷新查看结果。", "The same request is still being processed; reload shortly to see the result."),
    (
        "stale_version",
        "您打开页面后，该记录已发生变化，本次操作未执行。请查看最新状态后再操作。",
        "The record changed after you opened the page, so nothing was done. Look at its current state and decide again.",
    ),
    (
        "duplicate_pledge",
        "已有一项相同的质押（同一质权人、金额和期限）在等待权利人同意，未重复登记。",
        "An identical pledge (same pledgee, amount and term) is already waiting for consent; nothing was filed twice.",
    ),
    ("illegal_transition", "当前状态不允许此操作。", "The filing's current state does not allow this."),
    ("refiling_barred", "同一产品撤回后三个月内不得重新申请。", "The same product was withdrawn recently."),
    ("notice_period_over", "公示期已结束，不再受理异议。", "The notice period has ended; objections are closed."),
    ("deadline_not_reached", "期限尚未届满。", "The deadline has not passed yet."),
    ("objection_not_found", "没有这项异议。", "No such objection."),
    ("objection_already_decided", "该异议已作出决定。", "The objection has already been decided."),
    ("username_taken", "该用户名已被注册。", "That username is taken."),
    ("party_exists", "该证件号已登记了主体。", "A party with this identifier is already registered."),
    ("party_mismatch", "该证件号属于另一名称的主体。", "The identifier belongs to a party with another name."),
    (
        "concurrent_modification",
        "记录已被他人修改，请刷新后重试。",
        "The record changed while you were working on it; reload and try again.",
    ),
    ("party_not_found", "没有以此代码或证件号登记的主体。", "No registered party has this code or ID number."),
    ("licence_not_found", "该产品没有这项许可。", "No such licence on this product."),
    ("pledge_not_found", "该产品没有这项质押。", "No such pledge on this product."),
    (
        "licence_conflict",
        "与已有的独占或排他许可在期限、地域和范围上重叠。",
        "It overlaps an exclusive or sole licence in term, territory and scope.",
    ),
    ("licence_terminated", "该许可已终止。", "The licence has already ended."),
    (
        "pledgee_consent_required",
        "产品已质押：须经全部质权人同意。",
        "The product is pledged: every active pledgee must consent.",
    ),
    ("pledge_rank", "声明的顺位与实际顺位不符。", "The stated rank is not the rank the pledge would take."),
    ("pledge_not_pending", "该质押不在等待权利人同意的状态。", "The pledge is not waiting for the holder's consent."),
    ("pledge_not_active", "该质押未生效（待同意、已解除或已实现）。", "The pledge is not active."),
    (
        "pledge_not_senior",
        "须先实现或解除顺位在先的质押。",
        "A pledge of higher rank must be enforced or released first.",
    ),
    ("same_holder", "产品已属于该主体。", "The product already belongs to this party."),
    (
        "renewal_not_open",
        "只能在有效期届满前的续展期内续展。",
        "Renewal opens only in the window before validity ends.",
    ),
    (
        "renewal_beyond_licence",
        "数据来源的授权届满，续展不能使有效期超过授权期限。",
        "A data source's licence ends first: renewal cannot extend validity past it.",
    ),
    ("upstream_not_found", "作为来源的产品未在本机构登记。", "A product named as a source is not registered here."),
    ("upstream_not_registered", "作为来源的产品未登记或已失效。", "A product named as a source is not registered."),
    (
        "upstream_licence_required",
        "基于他人产品加工须提供相应许可。",
        "Deriving from another holder's product needs the licence that allows it.",
    ),
    (
        "upstream_licence_invalid",
        "所列许可不是该产品对申请人的有效许可。",
        "The licence named is not an active licence of that product to the applicant.",
    ),
    ("internal", "系统内部错误，已记录。请稍后重试。", "An internal error; it has been logged. Please try again."),
    // Field-level codes (details[].code).
    ("required", "必填。", "Required."),
    ("confirmation_required", "请勾选确认后再执行此操作。", "Tick the box to confirm this action."),
    ("too_long", "内容过长。", "Too long."),
    ("too_short", "至少输入 2 个字符。", "Type at least 2 characters."),
    ("too_many", "条目过多。", "Too many entries."),
    ("invalid_date", "日期格式应为 YYYY-MM-DD。", "Write the date as YYYY-MM-DD."),
    ("ends_before_start", "结束日期早于开始日期。", "The end is before the start."),
    ("invalid_choice", "不是可选的值。", "Not one of the choices."),
    ("invalid_amount", "金额应大于零，最多两位小数。", "An amount above zero with at most two decimals."),
    ("unknown_industry", "不在行业目录中。", "Not in the industry list."),
    ("invalid_username", "3–64 个字符：字母、数字及 . _ - @", "3 to 64 characters: letters, digits, . _ - @"),
    ("invalid_role", "不是可用的账号角色。", "Not an account role."),
    ("invalid_code", "1–40 个字符：小写字母、数字、下划线。", "1 to 40 characters: a-z, 0-9 and _."),
    ("invalid_hash", "应为 64 位十六进制 SHA-256 值。", "Give a SHA-256 as 64 hexadecimal digits."),
    ("out_of_range", "超出允许范围。", "Out of the allowed range."),
    ("agent_must_be_organisation", "代理机构须为法人或非法人组织。", "An agent must be an organisation."),
    ("date_in_future", "日期不能晚于今天。", "The date cannot be in the future."),
    ("before_registration", "日期早于登记日。", "The date is before the registration."),
    ("term_in_past", "期限已经届满。", "The term has already ended."),
    ("unchanged", "与原内容相同。", "Nothing changed."),
    ("licensee_is_holder", "权利人不能许可给自己。", "The holder cannot license itself."),
    ("invalid_url", "应为 http:// 或 https:// 开头的网址。", "An http:// or https:// URL."),
    ("invalid_witness_key", "不是有效的 cosignature/v1 见证人公钥。", "Not a cosignature/v1 witness key."),
    ("duplicate_witness", "该见证人已在列表中。", "This witness is already listed."),
    ("pledgee_is_holder", "权利人不能作为自己的质权人。", "The holder cannot be its own pledgee."),
];

/// The translation of a code, if the table has it.
pub fn message(code: &str, l: Lang) -> Option<&'static str> {
    MESSAGES.iter().find(|(c, _, _)| *c == code).map(|(_, zh, en)| l.tt(zh, en))
}

/// The translation of a code; an unknown code (which the test below keeps from happening) shows the
/// server's own message rather than nothing.
pub fn text(code: &str, fallback: &str, l: Lang) -> String {
    message(code, l).map_or_else(|| fallback.to_string(), str::to_string)
}

/// What to tell a person about a refused request: the translated code, and for a validation error
/// the fields' translated problems.
pub fn refusal(e: &dipr_registry::Error, l: Lang) -> String {
    let text = text(e.code, &e.message, l);
    match e.until {
        Some(until) => {
            let when = dipr_domain::shown::minute_zoned(until, l.en);
            format!(
                "{text}{}",
                l.tt(&format!("可于 {when}起重新申请。"), &format!(" It may be filed again from {when}."))
            )
        }
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Every code the sources can produce: the API's table, plus each literal passed as the code of a
    /// `FieldError::new(field, "code", ..)` or the domain's `field("field", "code", ..)`.
    fn codes_in_sources() -> BTreeSet<String> {
        let mut codes: BTreeSet<String> =
            dipr_registry::error::ERROR_CODES.iter().map(|(c, _, _)| c.to_string()).collect();
        let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        for krate in std::fs::read_dir(crates).unwrap() {
            let src = krate.unwrap().path().join("src");
            let Ok(files) = std::fs::read_dir(&src) else { continue };
            for file in files {
                let path = file.unwrap().path();
                // This file quotes the patterns it looks for.
                if path.ends_with("messages.rs") {
                    continue;
                }
                let text = std::fs::read_to_string(path).unwrap_or_default();
                for marker in ["FieldError::new(", "field(\""] {
                    for (at, _) in text.match_indices(marker) {
                        let rest = &text[at + marker.len()..];
                        // Skip the first argument (up to its comma), then take the next string literal.
                        let Some(comma) = rest.find(',') else { continue };
                        let after = rest[comma + 1..].trim_start();
                        if let Some(lit) = after.strip_prefix('"') {
                            if let Some(end) = lit.find('"') {
                                codes.insert(lit[..end].to_string());
                            }
                        }
                    }
                }
            }
        }
        codes
    }

    #[test]
    fn every_code_the_sources_produce_is_translated() {
        let codes = codes_in_sources();
        assert!(codes.len() > 60, "the scan found too few codes ({}): is it still reading the sources?", codes.len());
        assert!(codes.contains("before_registration") && codes.contains("unchanged"));
        let missing: Vec<_> =
            codes.iter().filter(|c| message(c, Lang::of(None, &axum::http::HeaderMap::new())).is_none()).collect();
        assert!(missing.is_empty(), "codes without a translation: {missing:?}");
    }

    #[test]
    fn translations_are_distinct_per_language_and_have_no_duplicates() {
        let mut seen = BTreeSet::new();
        for (code, zh, en) in MESSAGES {
            assert!(seen.insert(*code), "{code} is listed twice");
            assert!(
                zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{code}: the Chinese text has no Chinese"
            );
            assert!(en.is_ascii(), "{code}: the English text is not plain English");
        }
    }
}
