//! The certificate as a PDF a person reads: Chinese first with English alongside. It names the registrar
//! that issued it and the day it was issued, carries the registrar's seal (or an empty place for it), a QR
//! code to the public record, and explains how to check it. It states the fields of the signed JSON
//! certificate unchanged; the JSON is the form a machine verifies.
//!
//! Text is set in Noto Sans CJK SC (SIL Open Font License 1.1), embedded in the binary as a subset
//! covering GB 2312 (see `scripts/make-font-subset.py`); krilla subsets it again per document.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use krilla::color::rgb;
use krilla::error::KrillaError;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::image::Image;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke, StrokeDash};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use krilla::Document;
use sha2::{Digest, Sha256};

use dipr_domain::shown;
use dipr_ledger::certificate::{Certificate, LogEntry};
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
    #[error("the seal image cannot be used: {0}")]
    Seal(String),
    #[error("cannot write the PDF: {0:?}")]
    Write(String),
}

/// What the registry knows that the certificate itself does not carry: who the registrar is, where its
/// public site is now, human-facing names, and whether the registration is still in force.
#[derive(Debug, Clone)]
pub struct Names {
    pub registrar: Registrar,
    /// The public record page at the registry's current address: the QR code's target. The statement's own
    /// `record_url` stays as it was signed, and may name an address the registry no longer answers at.
    pub record_url: String,
    /// The certificate check page (`/check`) at the same address.
    pub check_url: String,
    /// The industry's name in Chinese and English, e.g. ("人工智能", "Artificial intelligence").
    pub industry: Option<(String, String)>,
    /// Set when the registration is no longer in force: the page is marked so that it cannot pass for a
    /// valid certificate.
    pub not_in_force: Option<NotInForce>,
}

/// The registrar, as the page names it.
#[derive(Debug, Clone)]
pub struct Registrar {
    /// E.g. 上海数据交易所数据产品登记中心.
    pub name_zh: String,
    /// E.g. Shanghai Data Exchange Data Product Registration Centre.
    pub name_en: String,
    /// The four-digit code that certificate numbers carry.
    pub code: u16,
    /// The registrar's seal. Without one the page leaves an empty, labelled place for it: the registry
    /// never draws a seal of its own.
    pub seal: Option<Seal>,
}

/// A seal image the registrar supplied (PNG), decoded once.
#[derive(Clone)]
pub struct Seal {
    image: Image,
    /// SHA-256 of the file: a cached rendering depends on it.
    sha256: String,
}

impl std::fmt::Debug for Seal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Seal(sha256 {})", self.sha256)
    }
}

impl Seal {
    /// A seal from the bytes of a PNG file; anything the page could not carry is refused here, once,
    /// rather than on every certificate.
    pub fn from_png(png: Vec<u8>) -> Result<Self, PdfError> {
        if !png.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Err(PdfError::Seal("not a PNG file".into()));
        }
        let sha256 = format!("{:x}", Sha256::digest(&png));
        let image = Image::from_png(krilla::Data::from(png), true).map_err(PdfError::Seal)?;
        // The pixels are only checked when a document using them is written: write one.
        let mut document = Document::new();
        let mut page =
            document.start_page_with(PageSettings::from_wh(10.0, 10.0).ok_or(PdfError::Write("page size".into()))?);
        let mut surface = page.surface();
        surface.draw_image(image.clone(), Size::from_wh(10.0, 10.0).ok_or(PdfError::Write("image size".into()))?);
        surface.finish();
        page.finish();
        match document.finish() {
            Ok(_) => Ok(Self { image, sha256 }),
            Err(KrillaError::Image(_, _, message)) => Err(PdfError::Seal(message)),
            Err(e) => Err(PdfError::Seal(format!("{e:?}"))),
        }
    }
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
/// characters, and inside a word only when the word alone is too wide (keys, hashes, URLs); closing
/// punctuation stays with the character before it.
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
        // Closing punctuation never starts a line: it hangs past the width instead.
        let closing = !line.is_empty() && token.chars().all(|c| "。，、；：！？）」』".contains(c));
        if closing || text_width(&format!("{line}{}", token.trim_end()), size) <= width {
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

    /// A dashed circle: the place left for a seal.
    fn dashed_circle(&mut self, cx: f32, cy: f32, r: f32) {
        // Four cubic arcs; k places the control points of a quarter circle.
        let k = 0.552_284_8 * r;
        let mut pb = PathBuilder::new();
        pb.move_to(cx + r, cy);
        pb.cubic_to(cx + r, cy + k, cx + k, cy + r, cx, cy + r);
        pb.cubic_to(cx - k, cy + r, cx - r, cy + k, cx - r, cy);
        pb.cubic_to(cx - r, cy - k, cx - k, cy - r, cx, cy - r);
        pb.cubic_to(cx + k, cy - r, cx + r, cy - k, cx + r, cy);
        pb.close();
        if let Some(p) = pb.finish() {
            self.surface.set_fill(None);
            self.surface.set_stroke(Some(Stroke {
                paint: rgb::Color::new(150, 150, 150).into(),
                width: 0.8,
                dash: Some(StrokeDash { array: vec![4.0, 3.0], offset: 0.0 }),
                ..Default::default()
            }));
            self.surface.draw_path(&p);
            self.surface.set_stroke(None);
        }
    }

    /// Draw `image` as large as fits in a `side` × `side` square centred on (cx, cy), keeping its shape.
    fn image(&mut self, image: &Image, cx: f32, cy: f32, side: f32) {
        let (w, h) = image.size();
        let scale = side / w.max(h).max(1) as f32;
        let (w, h) = (w as f32 * scale, h as f32 * scale);
        if let Some(size) = Size::from_wh(w, h) {
            self.surface.push_transform(&Transform::from_translate(cx - w / 2.0, cy - h / 2.0));
            self.surface.draw_image(image.clone(), size);
            self.surface.pop();
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

/// When this certificate was issued: the time of the log entry that issued it (the registration, or the
/// transfer, renewal or new data version it was issued again for), as the entry states it. The statement
/// keeps the first registration's time, so it cannot date a revision; a certificate whose entry cannot be
/// read is dated by its registration.
fn issued_at(cert: &Certificate) -> String {
    B64.decode(&cert.log_entry)
        .ok()
        .and_then(|bytes| LogEntry::parse(&bytes).ok())
        .map_or_else(|| cert.statement.registered_at.clone(), |entry| entry.at)
}

/// Render `cert` as a one-page A4 PDF.
pub fn render(cert: &Certificate, names: &Names) -> Result<Vec<u8>, PdfError> {
    let font = Font::new(krilla::Data::from(FONT), 0).ok_or(PdfError::Font)?;
    let s = &cert.statement;
    let proof = TlogProof::parse(&cert.proof).ok();
    let checkpoint_size =
        proof.as_ref().and_then(|p| p.checkpoint.lines().nth(1).map(str::to_string)).unwrap_or_else(|| "?".into());
    let index = proof.as_ref().map_or(String::from("?"), |p| p.index.to_string());
    let qr = qrcode::QrCode::new(names.record_url.as_bytes()).map_err(|e| PdfError::Qr(e.to_string()))?;

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
    pen.centered(84.0, 26.0, "数据知识产权登记证书");
    pen.color(60, 60, 60);
    pen.centered(106.0, 11.0, "Data Intellectual Property Registration Certificate");

    let (type_zh, type_en) = object_type_names(&s.product.object_type);
    let industry = match &names.industry {
        Some((zh, en)) => format!("{zh} {en}"),
        None => s.product.industry.clone(),
    };
    let sources: Vec<&str> = s.data_sources.iter().map(|k| source_names(k)).collect();
    let commitment = match &s.content_commitment {
        Some(c) => {
            let root = c.get("root").and_then(|r| r.as_str()).map(str::to_string).unwrap_or_else(|| c.to_string());
            // What the root commits to: a package's files or a dataset's records.
            match (c.get("algorithm").and_then(|a| a.as_str()), c.get("record_count").and_then(|n| n.as_u64())) {
                (Some("dipr-package/1"), Some(n)) => format!("{root}（算法包 {n} 个文件 package of {n} files）"),
                (_, Some(n)) => format!("{root}（{n} 条记录 records）"),
                _ => root,
            }
        }
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
    ];
    let label_x = MARGIN + 6.0;
    let value_x = MARGIN + 150.0;
    let value_w = PAGE_W - MARGIN - value_x - 6.0;
    let mut y = 146.0;
    if let Some(end) = &names.not_in_force {
        // A red band under the title: the statement below is history, not a registration in force.
        pen.color(190, 20, 20);
        pen.rect(MARGIN, 116.0, PAGE_W - 2.0 * MARGIN, 50.0);
        pen.color(255, 255, 255);
        pen.centered(139.0, 20.0, &format!("{} {}", end.zh, end.en));
        pen.centered(158.0, 9.0, &format!("登记自 {} 起不再有效 No longer in force since that date", end.since));
        y += 44.0;
    }
    for (zh, en, value) in &rows {
        pen.color(100, 100, 100);
        pen.text(label_x, y, 11.0, zh);
        pen.text(label_x, y + 12.0, 7.5, en);
        pen.color(20, 20, 20);
        let after = pen.paragraph(value_x, y, 11.0, value_w, value);
        // The rule falls between this row's English label and the next row's Chinese one.
        y = after.max(y + 20.0) + 8.0;
        pen.line(MARGIN, y - 12.0, PAGE_W - MARGIN, y - 12.0, 0.25);
    }

    // Who issued it and when: the QR code on the left, the registrar and the date, the seal on the right.
    let top = y - 2.0;
    let qr_size = 84.0;
    let module = qr_size / (qr.width() as f32 + 8.0);
    let (qx, qy) = (MARGIN + 6.0, top);
    pen.color(255, 255, 255);
    pen.rect(qx, qy, qr_size, qr_size);
    // Pure black is the QR code's alone: a test finds the code on the page by it.
    pen.color(0, 0, 0);
    for (i, c) in qr.to_colors().iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let (mx, my) = ((i % qr.width()) as f32, (i / qr.width()) as f32);
            pen.rect(qx + (mx + 4.0) * module, qy + (my + 4.0) * module, module + 0.05, module + 0.05);
        }
    }
    pen.color(60, 60, 60);
    pen.text(qx + 4.0, qy + qr_size + 8.0, 8.0, "扫码查看登记现状");
    pen.text(qx + 4.0, qy + qr_size + 18.0, 7.0, "Scan for its current status");

    let seal_r = 46.0;
    let (seal_x, seal_y) = (PAGE_W - MARGIN - 6.0 - seal_r, top + seal_r + 6.0);
    match &names.registrar.seal {
        Some(seal) => pen.image(&seal.image, seal_x, seal_y, 2.0 * seal_r),
        None => {
            pen.dashed_circle(seal_x, seal_y, seal_r);
            pen.color(150, 150, 150);
            pen.text(seal_x - text_width("登记机构印章", 9.0) / 2.0, seal_y, 9.0, "登记机构印章");
            pen.text(seal_x - text_width("Registrar's seal", 7.5) / 2.0, seal_y + 12.0, 7.5, "Registrar's seal");
        }
    }

    let ix = qx + qr_size + 22.0;
    let iw = seal_x - seal_r - 12.0 - ix;
    let registrar = &names.registrar;
    pen.color(100, 100, 100);
    pen.text(ix, top + 10.0, 8.0, "发证机构 Issued by");
    pen.color(20, 20, 20);
    let mut iy = pen.paragraph(ix, top + 27.0, 13.0, iw, &registrar.name_zh);
    iy = pen.paragraph(ix, iy - 4.0, 8.5, iw, &registrar.name_en);
    pen.color(100, 100, 100);
    pen.text(ix, iy, 8.0, &format!("机构代码 Registrar code {:04}", registrar.code));
    pen.text(ix, iy + 16.0, 8.0, "发证日期 Date of issue");
    pen.color(20, 20, 20);
    pen.text(ix, iy + 31.0, 11.0, &shown::stated_date_both(&issued_at(cert)));

    // How to check it, in plain words: the record for today's status, the check page or the command for
    // the certificate itself, and what the JSON form is.
    let mut vy = (top + qr_size + 38.0).max(iy + 56.0);
    let width = PAGE_W - 2.0 * MARGIN;
    pen.color(140, 30, 30);
    pen.text(MARGIN, vy, 11.0, "核验方式 How to verify");
    vy += 15.0;
    let steps = [
        (
            format!("1. 查看现状：扫码或打开 {} ，查看登记目前是否有效。", names.record_url),
            "Current status: scan the QR code or open the record URL to see whether the registration is in force today."
                .to_string(),
        ),
        (
            format!(
                "2. 核验证书：在公示记录页下载本证书的 JSON 文件，上传至 {} ；或离线运行 dipr verify certificate.json --trusted-key <登记机构公布的公钥>。",
                names.check_url
            ),
            "Check the certificate: download its JSON file from the record page and upload it on the check page, or run dipr verify offline with the key the registry publishes.".to_string(),
        ),
        (
            format!(
                "3. JSON 证书是机器可核验的原件：经登记机构密钥签名，收录于公开账本 {} 第 {index} 条（检查点共 {checkpoint_size} 条）。证书内容摘要 SHA-256：{}",
                s.registry,
                s.sha256_hex()
            ),
            format!("The JSON certificate is the machine-verifiable original: signed with the registry's key and included in its public log (entry {index} of {checkpoint_size})."),
        ),
    ];
    for (zh, en) in &steps {
        pen.color(30, 30, 30);
        vy = pen.paragraph(MARGIN, vy, 8.0, width, zh);
        pen.color(90, 90, 90);
        vy = pen.paragraph(MARGIN + 10.0, vy, 7.5, width - 10.0, en) + 3.0;
    }
    pen.color(110, 110, 110);
    pen.paragraph(
        MARGIN,
        PAGE_H - 58.0,
        7.5,
        width,
        "本证书以 PDF 与 JSON 两种形式签发，记载的内容相同。 Issued as PDF and as JSON, both stating the same facts.",
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
        assert_eq!(wrap("一二三四五。六", 10.0, 50.0), ["一二三四五。", "六"]);
        let lines = wrap("dipr.localhost/log+8346b8a3+AWtm+VxPDnFtiIU8R4hSaQiyXBP9o7ym05CP5UVb5Qag", 10.0, 120.0);
        assert!(lines.len() > 1 && lines.iter().all(|l| text_width(l, 10.0) <= 120.0));
    }
}
