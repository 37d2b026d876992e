//! A count drawn as a chart: the SVG answer, and what headless Chromium
//! makes of it.

use std::process::Command;

use crate::helpers::{incident, spawn_app};

/// Pixels of `png` within a small distance of `rgb`.
fn pixels_like(png: &[u8], channels: usize, rgb: (u8, u8, u8)) -> usize {
    png.chunks(channels)
        .filter(|p| {
            let d = |a: u8, b: u8| (a as i32 - b as i32).abs();
            d(p[0], rgb.0) + d(p[1], rgb.1) + d(p[2], rgb.2) < 30
        })
        .count()
}

#[tokio::test]
async fn a_count_drawn_as_svg_shows_bars_and_a_legend_in_a_browser() {
    let app = spawn_app().await;
    app.seed().await;
    // Azerbaijan's ministry accuses on three days, Armenia's on one.
    for (day, accuser, target) in [
        ("2025-07-14", "az-mod", "am-armed-forces"),
        ("2025-07-14", "az-mod", "am-armed-forces"),
        ("2025-07-15", "am-mod", "az-armed-forces"),
        ("2025-07-16", "az-mod", "am-armed-forces"),
        ("2025-07-17", "az-mod", "am-armed-forces"),
    ] {
        let mut body = incident(&format!("{day}T10:00:00+04:00"), "small_arms_fire");
        body["claims"] = serde_json::json!([{"claimant": accuser, "stance": "accuses", "target": target}]);
        assert_eq!(app.post("/v1/incidents", &body).await.status, 201);
    }
    let path = "/v1/stats/incidents?interval=day&from=2025-07-14&to=2025-07-19&tz=Asia/Baku&group_by=accuser_side&type=small_arms_fire&format=svg&width=800&height=400";
    let res = app.get(path).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.content_type(), "image/svg+xml");
    let svg = res.text.clone();
    assert!(svg.starts_with("<svg") && svg.contains("width=\"800\"") && svg.contains("height=\"400\""), "{svg}");
    for text in [
        "azerbaijan",
        "armenia",
        "2025-07-14",
        "2025-07-17",
        "Incidents per day by accuser_side, Asia/Baku",
        "type=small_arms_fire",
    ] {
        assert!(svg.contains(text), "the chart has no `{text}`");
    }
    // A size without a chart, and a chart too large, are refused.
    assert_eq!(app.get("/v1/stats/incidents?width=800").await.assert_problem(400), ["/query/width"]);
    assert_eq!(app.get("/v1/stats/incidents?format=svg&width=50").await.assert_problem(400), ["/query/width"]);
    let wide = app.get("/v1/stats/incidents?format=svg&interval=day&from=2010-01-01&to=2025-01-01").await;
    assert_eq!(wide.assert_problem(400), ["/query/interval"]);

    // Rendered by Debian's Chromium, headless, as a reader's browser would.
    let dir = std::env::temp_dir().join(format!("ceasefire-chart-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg_path = dir.join("chart.svg");
    let png_path = dir.join("chart.png");
    std::fs::write(&svg_path, &svg).unwrap();
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let status = Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=800,400",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(format!("--screenshot={}", png_path.display()))
        .arg(format!("file://{}", svg_path.display()))
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("`{chromium}` could not run ({e}): ./scripts/test installs Debian's chromium"));
    assert!(status.success(), "chromium failed: {status}");
    let decoder = png::Decoder::new(std::fs::File::open(&png_path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (800, 400));
    let channels = info.color_type.samples();
    let pixels = &buf[..info.buffer_size()];
    let total = (info.width * info.height) as usize;
    let white = pixels_like(pixels, channels, (255, 255, 255));
    assert!(white < total * 97 / 100, "the page is blank: {white} of {total} pixels are white");
    // The two series' colours (the first two of the palette), in bars and
    // in the legend's swatches: Azerbaijan's (more incidents) first.
    let first = pixels_like(pixels, channels, (31, 119, 180));
    let second = pixels_like(pixels, channels, (255, 127, 14));
    assert!(first > 2_000, "bars of the first series: {first} pixels");
    assert!(second > 300, "bars of the second series: {second} pixels");
    assert!(first > second * 2, "azerbaijan (4 incidents) draws more than armenia (1): {first} vs {second}");
    if let Ok(keep) = std::env::var("CEASEFIRE_CHART_EXAMPLE") {
        std::fs::copy(&png_path, keep).unwrap();
    }
    std::fs::remove_dir_all(&dir).ok();
}
