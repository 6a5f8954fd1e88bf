//! ROC curves as PNG files (feature `plot`, plotters' bitmap backend): one image per machine type, one curve
//! per group. The build has no font support, so the images carry no text: the frame is the unit square
//! (FPR →, TPR ↑), light grid lines every 0.1, the dashed diagonal is chance, and curves take the colours of
//! plotters' `Palette99` in the order of the group keys (as listed in the report).

use crate::error::{Error, Result};
use crate::report::Report;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Image size in pixels (width, height).
pub const ROC_PNG_SIZE: (u32, u32) = (640, 640);

/// Writes `roc_<type>.png` into `dir` (created if needed) for every machine type of `report`; returns the paths.
///
/// Errors: [`Error::Io`] when `dir` cannot be created; [`Error::Plot`] naming the PNG when drawing or
/// encoding fails.
pub fn write_roc_pngs(report: &Report, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(crate::error::io(dir))?;
    let mut paths = Vec::new();
    for (machine_type, ty) in &report.types {
        let path = dir.join(format!("roc_{machine_type}.png"));
        let curves: Vec<Vec<(f64, f64)>> = ty
            .groups
            .values()
            .map(|g| g.roc.points().iter().map(|p| (p.fpr, p.tpr)).collect())
            .collect();
        let plot_error = |reason| Error::Plot {
            path: path.clone(),
            reason,
        };
        asd_io::write_with(&path, |tmp| draw(tmp, &curves), |e| e.to_string()).map_err(plot_error)?;
        paths.push(path);
    }
    Ok(paths)
}

/// Draws the curves (each a list of (FPR, TPR) points) into one PNG.
fn draw(path: &Path, curves: &[Vec<(f64, f64)>]) -> std::result::Result<(), String> {
    let text = |e: &dyn std::fmt::Display| e.to_string();
    let root = BitMapBackend::new(path, ROC_PNG_SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| text(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .margin(20)
        .build_cartesian_2d(0f64..1f64, 0f64..1f64)
        .map_err(|e| text(&e))?;
    let grid = RGBColor(225, 225, 225);
    for i in 1..10 {
        let v = f64::from(i) / 10.0;
        for line in [[(v, 0.0), (v, 1.0)], [(0.0, v), (1.0, v)]] {
            chart.draw_series(LineSeries::new(line, grid)).map_err(|e| text(&e))?;
        }
    }
    let frame = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0)];
    chart.draw_series(LineSeries::new(frame, BLACK)).map_err(|e| text(&e))?;
    // chance diagonal, dashed: 20 segments
    let dashes = (0..20).map(|i| {
        let (a, b) = (f64::from(i) / 20.0, (f64::from(i) + 0.5) / 20.0);
        PathElement::new(vec![(a, a), (b, b)], RGBColor(128, 128, 128))
    });
    chart.draw_series(dashes).map_err(|e| text(&e))?;
    for (i, curve) in curves.iter().enumerate() {
        let style = Palette99::pick(i).stroke_width(2);
        chart
            .draw_series(LineSeries::new(curve.iter().copied(), style))
            .map_err(|e| text(&e))?;
    }
    root.present().map_err(|e| text(&e))
}
