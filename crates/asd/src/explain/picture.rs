//! The PNG of an [`Explanation`]: drawn pixel by pixel into an RGB buffer (heat maps in viridis, axes, ticks,
//! 8 × 8 bitmap text from `font8x8`) and encoded by plotters' bitmap backend. Text is ASCII (other characters are
//! drawn as `?`).

use super::{Axis, Explanation, Panel, SegmentScores};
use plotters::prelude::{BitMapBackend, ColorMap, DrawingBackend, ViridisRGB};
use std::path::Path;

/// Picture width, pixels.
const WIDTH: usize = 1200;
/// Left margin (y tick labels), pixels.
const LEFT: usize = 100;
/// Right margin (colour bar and its labels), pixels.
const RIGHT: usize = 120;
/// Height of the title block, pixels.
const TOP: usize = 64;
/// Height of a heat map, pixels.
const PANEL_HEIGHT: usize = 200;
/// Height of the segment-score chart, pixels.
const BARS_HEIGHT: usize = 120;
/// Space above a plot (its title) and below it (tick labels), pixels.
const ABOVE: usize = 18;
/// See [`ABOVE`].
const BELOW: usize = 30;
/// Height of one line of notes, pixels.
const NOTE_LINE: usize = 12;
/// The colour scale of attention maps: the attention net's weights lie in [0.5, 1) (neri_attention.md §4).
const ATTENTION_RANGE: (f32, f32) = (0.5, 1.0);
/// Glyph size of `font8x8`, pixels.
const GLYPH: usize = 8;

const BLACK: [u8; 3] = [0, 0, 0];
const GREY: [u8; 3] = [110, 110, 110];
const RED: [u8; 3] = [200, 40, 40];
const BLUE: [u8; 3] = [60, 100, 190];

/// Draws `explanation` and writes it as a PNG at `path` (atomically).
pub(super) fn write(explanation: &Explanation, path: &Path) -> Result<(), String> {
    let canvas = draw(explanation);
    asd_io::write_with(
        path,
        |tmp| {
            let size = (canvas.w as u32, canvas.h as u32);
            let mut backend = BitMapBackend::new(tmp, size);
            backend
                .blit_bitmap((0, 0), size, &canvas.px)
                .map_err(|e| e.to_string())?;
            backend.present().map_err(|e| e.to_string())
        },
        |e| e.to_string(),
    )
}

/// An RGB image being drawn.
struct Canvas {
    w: usize,
    h: usize,
    px: Vec<u8>,
}

impl Canvas {
    fn new(w: usize, h: usize) -> Self {
        Self {
            w,
            h,
            px: vec![255; w * h * 3],
        }
    }

    fn set(&mut self, x: usize, y: usize, colour: [u8; 3]) {
        if x < self.w && y < self.h {
            let at = (y * self.w + x) * 3;
            self.px[at..at + 3].copy_from_slice(&colour);
        }
    }

    /// Fills `[x0, x1) × [y0, y1)`.
    fn fill(&mut self, (x0, y0): (usize, usize), (x1, y1): (usize, usize), colour: [u8; 3]) {
        for y in y0..y1 {
            for x in x0..x1 {
                self.set(x, y, colour);
            }
        }
    }

    /// The frame around `[x0, x1) × [y0, y1)`.
    fn frame(&mut self, (x0, y0): (usize, usize), (x1, y1): (usize, usize)) {
        self.fill((x0.saturating_sub(1), y0.saturating_sub(1)), (x1 + 1, y0), BLACK);
        self.fill((x0.saturating_sub(1), y1), (x1 + 1, y1 + 1), BLACK);
        self.fill((x0.saturating_sub(1), y0), (x0, y1), BLACK);
        self.fill((x1, y0), (x1 + 1, y1), BLACK);
    }

    /// `text` with its top-left corner at `(x, y)`, each glyph pixel `scale` × `scale`.
    fn text(&mut self, (x, y): (usize, usize), text: &str, scale: usize, colour: [u8; 3]) {
        for (i, c) in text.chars().enumerate() {
            let code = if c.is_ascii() { c as usize } else { '?' as usize };
            let glyph = font8x8::legacy::BASIC_LEGACY[code];
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..GLYPH {
                    if bits >> col & 1 == 1 {
                        let (gx, gy) = (x + (i * GLYPH + col) * scale, y + row * scale);
                        self.fill((gx, gy), (gx + scale, gy + scale), colour);
                    }
                }
            }
        }
    }
}

/// Width of `text` drawn at `scale`, pixels.
fn text_width(text: &str, scale: usize) -> usize {
    text.chars().count() * GLYPH * scale
}

/// `v` with about four significant digits.
fn short(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let magnitude = v.abs().log10().floor();
    if !(-3.0..5.0).contains(&magnitude) {
        return format!("{v:.2e}");
    }
    format!("{v:.*}", (3.0 - magnitude).clamp(0.0, 4.0) as usize)
}

/// A tick label: `v` with at most three decimals, trailing zeros dropped.
fn tick_label(v: f64) -> String {
    let text = format!("{v:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0".into() } else { text.into() }
}

/// A tick step of 1, 2 or 5 × 10^k giving at most `max_ticks` ticks over `span`.
fn tick_step(span: f64, max_ticks: f64) -> f64 {
    let raw = span / max_ticks;
    let power = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * power)
}

/// The time span `[start, end)` that columns with these start times cover.
fn time_span(starts: &[f64]) -> (f64, f64) {
    let first = starts.first().copied().unwrap_or(0.0);
    let step = match starts {
        [a, b, ..] => b - a,
        _ => 1.0,
    };
    (first, starts.last().copied().unwrap_or(0.0) + step)
}

/// Axis words for a panel's title.
fn axis_name(axis: &Axis) -> String {
    match axis {
        Axis::Hz(_) => "Hz".into(),
        Axis::Seconds(_) => "s".into(),
        Axis::Index(name) => name.clone(),
    }
}

fn draw(e: &Explanation) -> Canvas {
    let bars = e.segments.as_ref().map_or(0, |_| ABOVE + BARS_HEIGHT + BELOW);
    let height = TOP + e.panels.len() * (ABOVE + PANEL_HEIGHT + BELOW) + bars + (e.notes.len() + 1) * NOTE_LINE + 8;
    let mut canvas = Canvas::new(WIDTH, height);
    let title = match e.headline() {
        Some(v) => format!(
            "{} | {} | {} score {} (threshold {}): {}",
            e.system,
            e.verdict.group,
            v.name,
            short(v.score),
            short(v.threshold),
            if v.anomalous { "ANOMALOUS" } else { "normal" }
        ),
        None => format!("{} | {} | no scorer scored the clip", e.system, e.verdict.group),
    };
    // The title at twice the glyph size when it fits the width.
    let scale = if text_width(&title, 2) + 24 <= WIDTH { 2 } else { 1 };
    canvas.text((12, 10), &title, scale, BLACK);
    canvas.text((12, 36), &e.source.display().to_string(), 1, GREY);
    let mut y = TOP;
    let plot_width = WIDTH - LEFT - RIGHT;
    for panel in &e.panels {
        heat_map(&mut canvas, panel, (LEFT, y + ABOVE), (plot_width, PANEL_HEIGHT));
        y += ABOVE + PANEL_HEIGHT + BELOW;
    }
    if let Some(segments) = &e.segments {
        let threshold = e
            .verdict
            .scores
            .iter()
            .find(|s| s.name == segments.scorer)
            .map(|s| s.threshold);
        bar_chart(
            &mut canvas,
            segments,
            threshold,
            (LEFT, y + ABOVE),
            (plot_width, BARS_HEIGHT),
        );
        y += bars;
    }
    for (i, note) in e.notes.iter().enumerate() {
        canvas.text((12, y + 4 + i * NOTE_LINE), note, 1, BLACK);
    }
    canvas
}

/// One panel as a heat map in `[x0, x0 + w) × [y0, y0 + h)`, with its title, ticks and colour bar.
fn heat_map(canvas: &mut Canvas, panel: &Panel, (x0, y0): (usize, usize), (w, h): (usize, usize)) {
    let title = format!(
        "{}  [y: {}, x: {}]",
        panel.title,
        axis_name(&panel.y),
        axis_name(&panel.x)
    );
    canvas.text((x0, y0 - ABOVE + 4), &title, 1, BLACK);
    let (rows, cols) = panel.values.dim();
    let finite = || panel.values.iter().copied().filter(|v| v.is_finite());
    let lo = finite().fold(f32::INFINITY, f32::min);
    let hi = finite().fold(f32::NEG_INFINITY, f32::max);
    // Attention maps share one scale, [0.5, 1] (the attention net's range), so pictures of clips compare.
    let (lo, hi) = match (panel.attention, lo.is_finite() && hi > lo) {
        (true, _) => (ATTENTION_RANGE.0.min(lo), ATTENTION_RANGE.1.max(hi)),
        (false, true) => (lo, hi),
        (false, false) if lo.is_finite() => (lo - 1.0, lo + 1.0),
        (false, false) => (0.0, 1.0),
    };
    // Each pixel shows the largest value of the cells it covers (narrow spectral peaks stay visible).
    let span = |p: usize, pixels: usize, cells: usize| {
        let a = p * cells / pixels;
        (a, ((p + 1) * cells / pixels).max(a + 1).min(cells))
    };
    for py in 0..h {
        let (r0, r1) = span(h - 1 - py, h, rows);
        for px in 0..w {
            let (c0, c1) = span(px, w, cols);
            let v = panel
                .values
                .slice(ndarray::s![r0..r1, c0..c1])
                .iter()
                .copied()
                .fold(f32::NEG_INFINITY, f32::max);
            let colour = ViridisRGB.get_color_normalized(v.clamp(lo, hi), lo, hi);
            canvas.set(x0 + px, y0 + py, [colour.0, colour.1, colour.2]);
        }
    }
    canvas.frame((x0, y0), (x0 + w, y0 + h));
    let span = match &panel.x {
        Axis::Seconds(t) | Axis::Hz(t) if t.len() == cols => time_span(t),
        _ => (0.0, cols as f64),
    };
    x_ticks(canvas, span, (x0, y0 + h), w);
    y_ticks(canvas, &panel.y, rows, (x0, y0), h);
    // colour bar: lo at the bottom, hi at the top
    let bar_x = x0 + w + 16;
    for py in 0..h {
        let v = hi - (hi - lo) * py as f32 / (h - 1).max(1) as f32;
        let colour = ViridisRGB.get_color_normalized(v, lo, hi);
        canvas.fill(
            (bar_x, y0 + py),
            (bar_x + 14, y0 + py + 1),
            [colour.0, colour.1, colour.2],
        );
    }
    canvas.frame((bar_x, y0), (bar_x + 14, y0 + h));
    canvas.text((bar_x + 20, y0), &short(f64::from(hi)), 1, BLACK);
    canvas.text((bar_x + 20, y0 + h - GLYPH), &short(f64::from(lo)), 1, BLACK);
}

/// Ticks and labels under a plot of width `w` spanning `[start, end]`.
fn x_ticks(canvas: &mut Canvas, (start, end): (f64, f64), (x0, y): (usize, usize), w: usize) {
    let step = tick_step(end - start, 12.0);
    let mut t = (start / step).ceil() * step;
    while t <= end + 1e-9 {
        let x = x0 + (((t - start) / (end - start)) * (w as f64 - 1.0)).round() as usize;
        canvas.fill((x, y + 1), (x + 1, y + 5), BLACK);
        let label = tick_label(t);
        canvas.text((x.saturating_sub(text_width(&label, 1) / 2), y + 8), &label, 1, BLACK);
        t += step;
    }
}

/// Ticks and labels left of a plot whose rows follow `axis` (row 0 at the bottom).
fn y_ticks(canvas: &mut Canvas, axis: &Axis, rows: usize, (x, y0): (usize, usize), h: usize) {
    let marks = if rows > 1 { 5 } else { 1 };
    for k in 0..marks {
        let row = if marks == 1 { 0 } else { k * (rows - 1) / (marks - 1) };
        let label = match axis {
            Axis::Hz(v) => v.get(row).map_or_else(String::new, |&f| format!("{f:.0}")),
            Axis::Seconds(v) => v.get(row).map_or_else(String::new, |&t| tick_label(t)),
            Axis::Index(_) => row.to_string(),
        };
        let y = y0 + h - 1 - ((row as f64 + 0.5) * h as f64 / rows as f64) as usize;
        canvas.fill((x - 5, y), (x - 1, y + 1), BLACK);
        canvas.text(
            (x.saturating_sub(8 + text_width(&label, 1)), y.saturating_sub(GLYPH / 2)),
            &label,
            1,
            BLACK,
        );
    }
}

/// The segments' scores as bars over time, the threshold dashed across (red bars lie above it).
fn bar_chart(
    canvas: &mut Canvas,
    s: &SegmentScores,
    threshold: Option<f64>,
    (x0, y0): (usize, usize),
    (w, h): (usize, usize),
) {
    canvas.text(
        (x0, y0 - ABOVE + 4),
        &format!(
            "{} score of each segment (the clip's score is their mean)  [x: s]",
            s.scorer
        ),
        1,
        BLACK,
    );
    let finite = s.scores.iter().copied().chain(threshold).filter(|v| v.is_finite());
    let lo = finite.clone().fold(0.0f64, f64::min);
    let hi = finite.fold(0.0f64, f64::max);
    let hi = if hi > lo { hi } else { lo + 1.0 };
    let to_y = |v: f64| y0 + h - 1 - (((v - lo) / (hi - lo)).clamp(0.0, 1.0) * (h as f64 - 1.0)).round() as usize;
    let start = s.starts.first().copied().unwrap_or(0.0);
    let end = s.starts.last().copied().unwrap_or(0.0) + s.seconds;
    let to_x = |t: f64| x0 + (((t - start) / (end - start)).clamp(0.0, 1.0) * (w as f64 - 1.0)).round() as usize;
    for (&t, &v) in s.starts.iter().zip(&s.scores) {
        let colour = if threshold.is_some_and(|th| v > th) { RED } else { BLUE };
        let (left, right) = (to_x(t) + 2, to_x(t + s.seconds).saturating_sub(2));
        let (top, base) = (to_y(v.max(0.0)), to_y(v.min(0.0)));
        canvas.fill((left, top), (right.max(left + 1), base.max(top + 1)), colour);
    }
    if let Some(th) = threshold.filter(|t| t.is_finite()) {
        let y = to_y(th);
        for x in (x0..x0 + w).step_by(8) {
            canvas.fill((x, y), (x + 4, y + 1), BLACK);
        }
        canvas.text(
            (x0 + 4, y.saturating_sub(GLYPH + 3)),
            &format!("threshold {}", short(th)),
            1,
            BLACK,
        );
    }
    canvas.frame((x0, y0), (x0 + w, y0 + h));
    x_ticks(canvas, (start, end), (x0, y0 + h), w);
    for v in [lo, hi] {
        let label = short(v);
        let y = to_y(v);
        canvas.text(
            (
                x0.saturating_sub(8 + text_width(&label, 1)),
                y.saturating_sub(GLYPH / 2),
            ),
            &label,
            1,
            BLACK,
        );
    }
}
