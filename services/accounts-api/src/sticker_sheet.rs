//! The print sheet for a sticker batch: A4 pages with a grid of QR codes, each sticker's short
//! id printed under its code, and cut marks in the margins along every grid line.
//!
//! Everything is vector: each code is one filled path of module rectangles, so the printer's
//! resolution, not ours, decides how sharp it is. This module only lays out and draws; issuing
//! and the other outputs stay in `cli.rs`.

use std::io::Write;

use anyhow::Context;
use flate2::{write::ZlibEncoder, Compression};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str};
use qrcode::{Color, QrCode};
use shared::ids::UserId;

/// Stickers per row and rows per page: 20 stickers of 46 × 54 mm on A4.
pub const COLUMNS: usize = 4;
/// See [`COLUMNS`].
pub const ROWS: usize = 5;
/// How many stickers one page holds.
pub const PER_PAGE: usize = COLUMNS * ROWS;

const PAGE_WIDTH_MM: f32 = 210.0;
const PAGE_HEIGHT_MM: f32 = 297.0;
/// A sticker's cell, the piece cut out along the marks.
pub const CELL_WIDTH_MM: f32 = 46.0;
/// See [`CELL_WIDTH_MM`].
pub const CELL_HEIGHT_MM: f32 = 54.0;
/// The code's square including its quiet zone. At the default URL's 33 modules the symbol
/// itself is 32 mm wide; no URL that fits a code makes it smaller than 29 mm, above the
/// 25 mm that phone cameras read from arm's length.
const CODE_BOX_MM: f32 = 40.0;
/// ISO/IEC 18004 asks for at least four light modules around the symbol.
const QUIET_ZONE_MODULES: usize = 4;
const CODE_TOP_PADDING_MM: f32 = 3.0;
const LABEL_BASELINE_BELOW_CODE_MM: f32 = 5.0;
const LABEL_SIZE_PT: f32 = 9.0;
/// Courier's advance width, per point of size: every base-14 Courier glyph is 600/1000 em,
/// which lets the label be centred without embedding font metrics.
const COURIER_ADVANCE: f32 = 0.6;
/// Cut marks start this far outside the grid, so a slightly misaligned cut never shows them
/// on a sticker, and end well inside the margin printers leave unprinted.
const MARK_GAP_MM: f32 = 2.0;
const MARK_LENGTH_MM: f32 = 6.0;
const MARK_WIDTH_PT: f32 = 0.25;

const FONT: Name<'static> = Name(b"F1");

// The layout fits, checked when it is compiled: the marks keep clear of the 4 mm most printers
// leave unprinted, and the label stays inside its cell.
const _: () = {
    let mark_reach = MARK_GAP_MM + MARK_LENGTH_MM;
    assert!(grid_left() - mark_reach >= 4.0);
    assert!(PAGE_HEIGHT_MM - grid_top() - mark_reach >= 4.0);
    assert!(CODE_TOP_PADDING_MM + CODE_BOX_MM + LABEL_BASELINE_BELOW_CODE_MM < CELL_HEIGHT_MM);
};

/// The short id printed under a sticker's code, for a person to read out or match against
/// the manifest: the UUID's first group, its first 8 hex digits.
pub fn short_id(id: &UserId) -> String {
    let mut hex = id.as_uuid().simple().to_string();
    hex.truncate(8);
    hex
}

/// Where the cell of the sticker in `slot` (0-based on its page, left to right, then top to
/// bottom) lies: its left and top edges, in mm from the page's left and top edges.
pub fn cell_position_mm(slot: usize) -> (f32, f32) {
    let (row, column) = (slot / COLUMNS, slot % COLUMNS);
    (
        grid_left() + column as f32 * CELL_WIDTH_MM,
        PAGE_HEIGHT_MM - grid_top() + row as f32 * CELL_HEIGHT_MM,
    )
}

/// A sheet being drawn, one sticker at a time, in the order added.
pub struct StickerSheet {
    pdf: Pdf,
    next_ref: i32,
    pages: Vec<Ref>,
    page: Content,
    on_page: usize,
}

impl StickerSheet {
    const CATALOG: Ref = Ref::new(1);
    const PAGE_TREE: Ref = Ref::new(2);
    const FONT: Ref = Ref::new(3);

    /// An empty sheet.
    pub fn new() -> Self {
        Self {
            pdf: Pdf::new(),
            next_ref: 4,
            pages: Vec::new(),
            page: Content::new(),
            on_page: 0,
        }
    }

    /// Draws `code` in the next free cell with `label` under it, starting a page when the
    /// current one is full.
    pub fn add(&mut self, code: &QrCode, label: &str) -> anyhow::Result<()> {
        if self.on_page == PER_PAGE {
            self.flush_page()?;
        }
        let (cell_left, cell_top_from_page_top) = cell_position_mm(self.on_page);
        // PDF measures up from the page's bottom edge.
        let cell_top = PAGE_HEIGHT_MM - cell_top_from_page_top;
        let code_left = cell_left + (CELL_WIDTH_MM - CODE_BOX_MM) / 2.0;
        let code_top = cell_top - CODE_TOP_PADDING_MM;
        draw_code(&mut self.page, code, code_left, code_top);

        let label_width = label.len() as f32 * COURIER_ADVANCE * LABEL_SIZE_PT;
        self.page
            .begin_text()
            .set_font(FONT, LABEL_SIZE_PT)
            .next_line(
                mm(cell_left + CELL_WIDTH_MM / 2.0) - label_width / 2.0,
                mm(code_top - CODE_BOX_MM - LABEL_BASELINE_BELOW_CODE_MM),
            )
            .show(Str(label.as_bytes()))
            .end_text();
        self.on_page += 1;
        Ok(())
    }

    /// The finished PDF.
    pub fn finish(mut self) -> anyhow::Result<Vec<u8>> {
        if self.on_page > 0 || self.pages.is_empty() {
            self.flush_page()?;
        }
        self.pdf.catalog(Self::CATALOG).pages(Self::PAGE_TREE);
        self.pdf
            .pages(Self::PAGE_TREE)
            .kids(self.pages.iter().copied())
            .count(i32::try_from(self.pages.len()).context("too many pages")?);
        // Courier is one of the 14 fonts every PDF reader has, so nothing is embedded.
        self.pdf.type1_font(Self::FONT).base_font(Name(b"Courier"));
        Ok(self.pdf.finish())
    }

    fn flush_page(&mut self) -> anyhow::Result<()> {
        let mut content = std::mem::replace(&mut self.page, Content::new());
        draw_cut_marks(&mut content);
        let page_ref = self.alloc();
        let content_ref = self.alloc();
        let mut page = self.pdf.page(page_ref);
        page.media_box(Rect::new(0.0, 0.0, mm(PAGE_WIDTH_MM), mm(PAGE_HEIGHT_MM)))
            .parent(Self::PAGE_TREE)
            .contents(content_ref);
        page.resources().fonts().pair(FONT, Self::FONT);
        page.finish();
        // A page of codes is thousands of small rectangles; deflate shrinks it about tenfold.
        let mut deflated = ZlibEncoder::new(Vec::new(), Compression::default());
        deflated
            .write_all(content.finish().as_slice())
            .context("compressing a sheet page")?;
        let deflated = deflated.finish().context("compressing a sheet page")?;
        self.pdf
            .stream(content_ref, &deflated)
            .filter(Filter::FlateDecode);
        self.pages.push(page_ref);
        self.on_page = 0;
        Ok(())
    }

    fn alloc(&mut self) -> Ref {
        let id = Ref::new(self.next_ref);
        self.next_ref += 1;
        id
    }
}

impl Default for StickerSheet {
    fn default() -> Self {
        Self::new()
    }
}

/// Draws the code's dark modules as one path, so a rasteriser fills their union and leaves no
/// hairline seams between neighbours; each row's runs of dark modules become one rectangle.
fn draw_code(content: &mut Content, code: &QrCode, left_mm: f32, top_mm: f32) {
    let width = code.width();
    let module_mm = CODE_BOX_MM / (width + 2 * QUIET_ZONE_MODULES) as f32;
    let quiet_mm = QUIET_ZONE_MODULES as f32 * module_mm;
    // From here on one unit is one module and y grows downwards, as in the code's matrix.
    content.save_state().transform([
        mm(module_mm),
        0.0,
        0.0,
        -mm(module_mm),
        mm(left_mm + quiet_mm),
        mm(top_mm - quiet_mm),
    ]);
    for y in 0..width {
        let mut x = 0;
        while x < width {
            if code[(x, y)] == Color::Light {
                x += 1;
                continue;
            }
            let start = x;
            while x < width && code[(x, y)] == Color::Dark {
                x += 1;
            }
            content.rect(start as f32, y as f32, (x - start) as f32, 1.0);
        }
    }
    content.fill_nonzero().restore_state();
}

/// Marks along every column and row boundary, outside the grid on all four sides: a cutter
/// lines up two opposite marks and cuts the whole sheet through.
fn draw_cut_marks(content: &mut Content) {
    let (left, top) = (grid_left(), grid_top());
    let right = left + COLUMNS as f32 * CELL_WIDTH_MM;
    let bottom = top - ROWS as f32 * CELL_HEIGHT_MM;
    let (near, far) = (MARK_GAP_MM, MARK_GAP_MM + MARK_LENGTH_MM);
    content.save_state().set_line_width(MARK_WIDTH_PT);
    for column in 0..=COLUMNS {
        let x = mm(left + column as f32 * CELL_WIDTH_MM);
        line(content, (x, mm(top + near)), (x, mm(top + far)));
        line(content, (x, mm(bottom - near)), (x, mm(bottom - far)));
    }
    for row in 0..=ROWS {
        let y = mm(top - row as f32 * CELL_HEIGHT_MM);
        line(content, (mm(left - near), y), (mm(left - far), y));
        line(content, (mm(right + near), y), (mm(right + far), y));
    }
    content.stroke().restore_state();
}

fn line(content: &mut Content, from: (f32, f32), to: (f32, f32)) {
    content.move_to(from.0, from.1).line_to(to.0, to.1);
}

const fn grid_left() -> f32 {
    (PAGE_WIDTH_MM - COLUMNS as f32 * CELL_WIDTH_MM) / 2.0
}

/// The grid's top edge, in mm up from the page's bottom edge.
const fn grid_top() -> f32 {
    PAGE_HEIGHT_MM - (PAGE_HEIGHT_MM - ROWS as f32 * CELL_HEIGHT_MM) / 2.0
}

/// Millimetres to PDF points.
fn mm(millimetres: f32) -> f32 {
    millimetres * 72.0 / 25.4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_short_id_is_the_uuids_first_group() {
        let id: UserId = "3f2a9c1e-0b4d-4e6f-8a7b-9c0d1e2f3a4b".parse().unwrap();
        assert_eq!(short_id(&id), "3f2a9c1e");
    }
}
