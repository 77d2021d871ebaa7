//! The certificate as a PDF a person reads: Chinese first with English alongside, a QR code leading to
//! the public record, and the facts needed to verify it with `dipr verify`. The PDF is a rendering;
//! the evidence is the signed JSON certificate, whose fields it shows unchanged.
//!
//! Text is set in Noto Sans CJK SC (SIL Open Font License 1.1), embedded in the binary as a subset
//! covering GB 2312 (see `scripts/make-font-subset.py`); krilla subsets it again per document.

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use krilla::Document;

use dipr_domain::shown;
use dipr_ledger::certificate::Certificate;
use dipr_ledger::proof::TlogProof;

static FONT: &[u8] = include_bytes!("../../../assets/fonts/NotoSansSC-dipr.otf");

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 48.0;

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the embedded font cannot be loaded")]
    Font,
    #[error("cannot encode the QR code: {0}")]
    Qr(String),
    #[error("cannot write the PDF: {0:?}")]
    Write(String),
}

/// What the registry knows that the certificate itself does not carry: human-facing names, and whether
/// the registration is still in force.
#[derive(Debug, Clone, Default)]
pub struct Names {
    /// The industry's name in Chinese and English, e.g. ("人工智能", "Artificial intelligence").
    pub industry: Option<(String, String)>,
    /// Set when the registration is no longer in force: the page is marked so that it cannot pass for a
    /// valid certificate.
    pub not_in_force: Option<NotInForce>,
}

/// How a registration ended, as the mark on the page states it.
#[derive(Debug, Clone)]
pub struct NotInForce {
    /// E.g. 已撤销.
    pub zh: String,
    /// E.g. REVOKED.
    pub en: String,
    /// Since when, e.g. `2026-12-03（北京时间 Beijing time）`.
    pub since: String,
}

fn object_type_names(t: &str) -> (&'static str, &'static str) {
    match t {
        "data_collection" => ("数据加工集合", "Data processing collection"),
        "data_product" => ("数据加工产品", "Data processing product"),
        "data_algorithm" => ("数据技术算法", "Data technology algorithm"),
        _ => ("未知", "Unknown"),
    }
}

fn source_names(kind: &str) -> &'static str {
    match kind {
        "self_collected" => "自行采集 self-collected",
        "licensed" => "授权/采购 licensed",
        "public_data" => "公共数据授权 public data",
        _ => "其他 other",
    }
}

fn holder_kind(kind: &str) -> &'static str {
    match kind {
        "natural_person" => "自然人 natural person",
        "legal_person" => "法人 legal person",
        "unincorporated_organisation" => "非法人组织 unincorporated organisation",
        _ => "",
    }
}

/// Approximate advance of `text` at `size`: CJK and full-width characters are one em, others about half.
fn text_width(text: &str, size: f32) -> f32 {
    text.chars().map(|c| if (c as u32) >= 0x2E80 { 1.0 } else { 0.56 }).sum::<f32>() * size
}

/// Break `text` into lines no wider than `width`: between words of Latin text, between any two CJK
/// characters, and inside a word only when the word alone is too wide (keys, hashes, URLs).
fn wrap(text: &str, size: f32, width: f32) -> Vec<String> {
    // Tokens: a CJK character, or a run of other characters up to and including a space.
    let mut tokens: Vec<String> = Vec::new();
    for c in text.chars() {
        let cjk = (c as u32) >= 0x2E80;
        match tokens.last_mut() {
            Some(t) if !cjk && !t.ends_with(' ') && t.chars().last().is_some_and(|p| (p as u32) < 0x2E80) => t.push(c),
            _ => tokens.push(c.to_string()),
        }
    }
    let mut lines = Vec::new();
    let mut line = String::new();
    for token in tokens {
        if text_width(&format!("{line}{}", token.trim_end()), size) <= width {
            line.push_str(&token);
            continue;
        }
        if !line.trim().is_empty() {
            lines.push(std::mem::take(&mut line).trim_end().to_string());
        }
        line.clear();
        for c in token.chars() {
            if text_width(&format!("{line}{c}"), size) > width && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            line.push(c);
        }
    }
    if !line.trim().is_empty() || lines.is_empty() {
        lines.push(line.trim_end().to_string());
    }
    lines
}

struct Pen<'a, 'b> {
    surface: &'a mut Surface<'b>,
    font: Font,
}

impl Pen<'_, '_> {
    fn color(&mut self, r: u8, g: u8, b: u8) {
        self.surface.set_fill(Some(Fill {
            paint: rgb::Color::new(r, g, b).into(),
            opacity: NormalizedF32::ONE,
            rule: Default::default(),
        }));
    }

    fn text(&mut self, x: f32, y: f32, size: f32, text: &str) {
        self.surface.draw_text(Point::from_xy(x, y), self.font.clone(), size, text, false, TextDirection::Auto);
    }

    fn centered(&mut self, y: f32, size: f32, text: &str) {
        self.text((PAGE_W - text_width(text, size)) / 2.0, y, size, text);
    }

    /// Draw wrapped text; returns the y below it.
    fn paragraph(&mut self, x: f32, mut y: f32, size: f32, width: f32, text: &str) -> f32 {
        for line in wrap(text, size, width) {
            self.text(x, y, size, &line);
            y += size * 1.45;
        }
        y
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32) {
        let mut pb = PathBuilder::new();
        if let Some(r) = Rect::from_xywh(x, y, w, h) {
            pb.push_rect(r);
        }
        if let Some(p) = pb.finish() {
            self.surface.draw_path(&p);
        }
    }

    fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, width: f32) {
        let mut pb = PathBuilder::new();
        pb.move_to(x1, y1);
        pb.line_to(x2, y2);
        if let Some(p) = pb.finish() {
            self.surface.set_fill(None);
            self.surface.set_stroke(Some(Stroke {
                paint: rgb::Color::new(140, 30, 30).into(),
                width,
                ..Default::default()
            }));
            self.surface.draw_path(&p);
            self.surface.set_stroke(None);
        }
    }
}

/// Render `cert` as a one-page A4 PDF.
pub fn render(cert: &Certificate, names: &Names) -> Result<Vec<u8>, PdfError> {
    let font = Font::new(krilla::Data::from(FONT), 0).ok_or(PdfError::Font)?;
    let s = &cert.statement;
    let proof = TlogProof::parse(&cert.proof).ok();
    let checkpoint_size =
        proof.as_ref().and_then(|p| p.checkpoint.lines().nth(1).map(str::to_string)).unwrap_or_default();
    let qr = qrcode::QrCode::new(s.record_url.as_bytes()).map_err(|e| PdfError::Qr(e.to_string()))?;

    let mut document = Document::new();
    let mut page =
        document.start_page_with(PageSettings::from_wh(PAGE_W, PAGE_H).ok_or(PdfError::Write("page size".into()))?);
    let mut surface = page.surface();
    let mut pen = Pen { surface: &mut surface, font };

    // Frame.
    pen.line(24.0, 24.0, PAGE_W - 24.0, 24.0, 2.0);
    pen.line(PAGE_W - 24.0, 24.0, PAGE_W - 24.0, PAGE_H - 24.0, 2.0);
    pen.line(PAGE_W - 24.0, PAGE_H - 24.0, 24.0, PAGE_H - 24.0, 2.0);
    pen.line(24.0, PAGE_H - 24.0, 24.0, 24.0, 2.0);
    pen.line(30.0, 30.0, PAGE_W - 30.0, 30.0, 0.6);
    pen.line(PAGE_W - 30.0, 30.0, PAGE_W - 30.0, PAGE_H - 30.0, 0.6);
    pen.line(PAGE_W - 30.0, PAGE_H - 30.0, 30.0, PAGE_H - 30.0, 0.6);
    pen.line(30.0, PAGE_H - 30.0, 30.0, 30.0, 0.6);

    pen.color(140, 30, 30);
    pen.centered(92.0, 26.0, "数据知识产权登记证书");
    pen.color(60, 60, 60);
    pen.centered(116.0, 11.0, "Data Intellectual Property Registration Certificate");

    let (type_zh, type_en) = object_type_names(&s.product.object_type);
    let industry = match &names.industry {
        Some((zh, en)) => format!("{zh} {en}"),
        None => s.product.industry.clone(),
    };
    let sources: Vec<&str> = s.data_sources.iter().map(|k| source_names(k)).collect();
    let commitment = match &s.content_commitment {
        Some(c) => c.get("root").and_then(|r| r.as_str()).map(str::to_string).unwrap_or_else(|| c.to_string()),
        None => "未提交 none filed".into(),
    };
    let rows: Vec<(&str, &str, String)> = vec![
        ("证书号", "Certificate No.", s.certificate_number.clone()),
        ("登记号", "Registration No.", s.registration_number.clone()),
        ("数据产品名称", "Data product", s.product.name.clone()),
        ("权利人", "Holder", format!("{}（{}）", s.holder.name, s.holder.id_number)),
        ("权利人类型", "Holder type", holder_kind(&s.holder.kind).to_string()),
        ("登记对象类型", "Object type", format!("{type_zh} {type_en}")),
        ("行业领域", "Industry", industry),
        ("数据来源", "Data sources", sources.join("；")),
        ("登记日期", "Registered on", shown::stated_date_both(&s.registered_at)),
        ("有效期", "Valid", shown::stated_period_both(&s.valid_from, &s.valid_until)),
        ("内容承诺", "Content commitment", commitment),
        ("登记机构", "Registry", s.registry.clone()),
    ];
    let label_x = MARGIN + 6.0;
    let value_x = MARGIN + 150.0;
    let value_w = PAGE_W - MARGIN - value_x - 6.0;
    let mut y = 160.0;
    if let Some(end) = &names.not_in_force {
        // A red band under the title: the statement below is history, not a registration in force.
        pen.color(190, 20, 20);
        pen.rect(MARGIN, 128.0, PAGE_W - 2.0 * MARGIN, 52.0);
        pen.color(255, 255, 255);
        pen.centered(152.0, 20.0, &format!("{} {}", end.zh, end.en));
        pen.centered(171.0, 9.0, &format!("登记自 {} 起不再有效 No longer in force since that date", end.since));
        y += 44.0;
    }
    for (zh, en, value) in &rows {
        pen.color(100, 100, 100);
        pen.text(label_x, y, 11.0, zh);
        pen.text(label_x, y + 12.0, 7.5, en);
        pen.color(20, 20, 20);
        let after = pen.paragraph(value_x, y, 11.0, value_w, value);
        y = after.max(y + 22.0) + 8.0;
        pen.line(MARGIN, y - 12.0, PAGE_W - MARGIN, y - 12.0, 0.25);
    }

    // QR code to the public record.
    let modules = qr.width() as f32;
    let qr_size = 104.0;
    let cell = qr_size / (modules + 8.0);
    let (qx, qy) = (PAGE_W - MARGIN - qr_size, y + 4.0);
    pen.color(255, 255, 255);
    pen.rect(qx, qy, qr_size, qr_size);
    pen.color(0, 0, 0);
    let colors = qr.to_colors();
    for (i, c) in colors.iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let (mx, my) = ((i % qr.width()) as f32, (i / qr.width()) as f32);
            pen.rect(qx + (mx + 4.0) * cell, qy + (my + 4.0) * cell, cell + 0.05, cell + 0.05);
        }
    }
    pen.color(60, 60, 60);
    pen.text(qx, qy + qr_size + 12.0, 8.0, "扫码查看公示记录");
    pen.text(qx, qy + qr_size + 22.0, 7.0, "Scan for the public record");

    // How to verify.
    let text_w = PAGE_W - 2.0 * MARGIN - qr_size - 16.0;
    let mut vy = y + 12.0;
    pen.color(140, 30, 30);
    pen.text(MARGIN, vy, 12.0, "核验方式 How to verify");
    vy += 18.0;
    pen.color(30, 30, 30);
    let steps = [
        "1. 取得本证书的 JSON 文件（公示记录页可下载），离线运行：".to_string(),
        format!("   dipr verify 证书.json --trusted-key {}", cert.registry_key),
        "   Get this certificate's JSON file (downloadable from the public record) and run the command above; it checks the registry's signature, the log entry and its inclusion proof without any network access.".into(),
        format!(
            "2. 账本位置 Log position: 第 {} 条，检查点共 {} 条 entry {} of a checkpoint of {} entries.",
            proof.as_ref().map_or(String::from("?"), |p| p.index.to_string()),
            checkpoint_size,
            proof.as_ref().map_or(String::from("?"), |p| p.index.to_string()),
            checkpoint_size
        ),
        format!("3. 证书内容摘要 Statement SHA-256: {}", s.sha256_hex()),
        format!("4. 登记现状见公示记录 Current status on the public record: {}", s.record_url),
    ];
    for step in &steps {
        vy = pen.paragraph(MARGIN, vy, 8.5, text_w, step) + 2.0;
    }
    pen.color(110, 110, 110);
    pen.paragraph(
        MARGIN,
        PAGE_H - 64.0,
        7.5,
        PAGE_W - 2.0 * MARGIN,
        "本文件是证书的可读副本。具有证明力的是经登记机构签名的 JSON 证书及其公开账本证明，任何改动都会使核验失败。 This PDF is a readable rendering; the evidence is the registry-signed JSON certificate and its public-log proof, which fail verification if anything is changed.",
    );
    surface.finish();
    page.finish();
    document.finish().map_err(|e| PdfError::Write(format!("{e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_respects_width() {
        let lines = wrap("数据知识产权登记证书数据知识产权登记证书", 10.0, 55.0);
        assert!(lines.iter().all(|l| text_width(l, 10.0) <= 55.0));
        assert_eq!(lines.concat(), "数据知识产权登记证书数据知识产权登记证书");
        let lines = wrap("the registry's signature over the statement", 10.0, 80.0);
        assert_eq!(lines, ["the registry's", "signature over", "the statement"]);
        let lines = wrap("dipr.localhost/log+8346b8a3+AWtm+VxPDnFtiIU8R4hSaQiyXBP9o7ym05CP5UVb5Qag", 10.0, 120.0);
        assert!(lines.len() > 1 && lines.iter().all(|l| text_width(l, 10.0) <= 120.0));
    }
}
