//! A count drawn as an SVG bar chart (`format=svg`): bars per period, one
//! series per group, a legend, axis labels in the count's zone and a title
//! from the request. Drawn with `plotters`; the text is left to the
//! browser's fonts.

use plotters::prelude::*;

use crate::error::{ApiError, ApiResult};

/// Sizes a chart may have, in pixels.
pub const WIDTHS: std::ops::RangeInclusive<u32> = 200..=3000;
pub const HEIGHTS: std::ops::RangeInclusive<u32> = 150..=2000;
/// Series drawn: the largest groups; the rest are summed as "other".
pub const MAX_SERIES: usize = 12;
/// Bars drawn at most (periods × series): beyond, a longer interval says more.
pub const MAX_BARS: usize = 3000;

/// How a chart is drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartSpec {
    pub width: u32,
    pub height: u32,
    /// What the chart shows, first line of the title.
    pub title: String,
    /// The filters, second line of the title (may be empty).
    pub subtitle: String,
}

const COLORS: [RGBColor; MAX_SERIES] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(57, 59, 121),
    RGBColor(173, 73, 74),
];

/// Draws `series` (a name and one value per period) over `labels` (one per period).
pub fn svg(spec: &ChartSpec, labels: &[String], series: &[(String, Vec<i64>)]) -> ApiResult<String> {
    let bars = labels.len().saturating_mul(series.len().max(1));
    if bars > MAX_BARS {
        return Err(ApiError::bad_query(
            "interval",
            format!("a chart draws at most {MAX_BARS} bars (periods × series); this one has {bars}: choose a longer interval or a shorter range"),
        ));
    }
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (spec.width, spec.height)).into_drawing_area();
        draw(&root, spec, labels, series).map_err(|e| ApiError::internal(format!("drawing the chart: {e}")))?;
        root.present().map_err(|e| ApiError::internal(format!("drawing the chart: {e}")))?;
    }
    Ok(out)
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn draw(
    root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    spec: &ChartSpec,
    labels: &[String],
    series: &[(String, Vec<i64>)],
) -> DrawResult {
    root.fill(&WHITE)?;
    let small = spec.height < 300 || spec.width < 400;
    let (title_size, text_size) = if small { (14, 10) } else { (20, 13) };
    let root = if spec.subtitle.is_empty() {
        root.clone()
    } else {
        let (top, rest) = root.split_vertically(title_size + text_size + 14);
        top.draw(&Text::new(
            spec.subtitle.clone(),
            (10, title_size + 10),
            ("sans-serif", text_size).into_font().color(&RGBColor(90, 90, 90)),
        ))?;
        let _ = top.draw(&Text::new(spec.title.clone(), (10, 4), ("sans-serif", title_size).into_font()));
        rest
    };
    let max = series.iter().flat_map(|(_, v)| v.iter().copied()).max().unwrap_or(0).max(1);
    let n = labels.len().max(1);
    let mut builder = ChartBuilder::on(&root);
    if spec.subtitle.is_empty() {
        builder.caption(&spec.title, ("sans-serif", title_size));
    }
    let mut chart = builder
        .margin(10)
        .x_label_area_size(if small { 30 } else { 40 })
        .y_label_area_size(if small { 35 } else { 50 })
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0i64..(max + max / 10 + 1))?;
    let label_of = |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 {
            labels.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n.min(if small { 6 } else { 12 }))
        .x_label_formatter(&label_of)
        .y_labels(((max + 1) as usize).min(10))
        .y_label_formatter(&|y| y.to_string())
        .label_style(("sans-serif", text_size))
        .draw()?;
    let width = 0.8 / series.len().max(1) as f64;
    for (s, (name, values)) in series.iter().enumerate() {
        let color = COLORS[s % COLORS.len()];
        chart
            .draw_series(values.iter().enumerate().map(|(i, v)| {
                let x0 = i as f64 - 0.4 + s as f64 * width;
                Rectangle::new([(x0, 0), (x0 + width * 0.92, *v)], color.filled())
            }))?
            .label(name.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .label_font(("sans-serif", text_size))
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_a_bar_per_period_and_series_and_a_legend() {
        let spec = ChartSpec {
            width: 600,
            height: 300,
            title: "Incidents per week".into(),
            subtitle: "type=mortar_fire".into(),
        };
        let labels = vec!["2025-07-07".to_string(), "2025-07-14".to_string()];
        let series = vec![("azerbaijan".to_string(), vec![3, 1]), ("armenia".to_string(), vec![0, 2])];
        let svg = svg(&spec, &labels, &series).unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("azerbaijan") && svg.contains("armenia") && svg.contains("2025-07-14"));
        assert!(svg.contains("Incidents per week") && svg.contains("type=mortar_fire"));
        assert!(svg.matches("<rect").count() >= 4 + 2, "bars and legend swatches");
    }
}
