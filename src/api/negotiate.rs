//! Content negotiation by `Accept` (RFC 9110, section 12.5.1), with
//! quality values: `text/csv;q=0` refuses CSV, `*/*;q=0.1, text/csv` prefers
//! it, and a range names a type only as a whole (never by substring).

use actix_web::http::header;
use actix_web::HttpRequest;

use crate::error::ApiError;

/// Which of `offered` (media types, the default first) the request prefers:
/// the highest quality, the earliest offered among equals. Without an
/// `Accept` header, or with none that parses, the default. 406 when the
/// header accepts none of them.
pub fn negotiate(req: &HttpRequest, offered: &[&str]) -> Result<usize, ApiError> {
    let ranges: Vec<(mime::Mime, f32)> = req
        .headers()
        .get_all(header::ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|r| {
            let m: mime::Mime = r.trim().parse().ok()?;
            let q = match m.get_param("q") {
                None => 1.0,
                Some(q) => q.as_str().parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q))?,
            };
            Some((m, q))
        })
        .collect();
    if ranges.is_empty() {
        return Ok(0);
    }
    // The quality of an offered type: that of the most specific range
    // matching it (exact, then `type/*`, then `*/*`), 0 when none does.
    let quality = |offered: &str| -> f32 {
        let (kind, _) = offered.split_once('/').unwrap_or((offered, ""));
        ranges
            .iter()
            .filter_map(|(m, q)| {
                let specificity = if m.essence_str() == offered {
                    3
                } else if m.subtype() == mime::STAR && m.type_() == kind {
                    2
                } else if m.type_() == mime::STAR && m.subtype() == mime::STAR {
                    1
                } else {
                    return None;
                };
                Some((specificity, *q))
            })
            .max_by_key(|(specificity, _)| *specificity)
            .map_or(0.0, |(_, q)| q)
    };
    let mut best: Option<(usize, f32)> = None;
    for (i, o) in offered.iter().enumerate() {
        let q = quality(o);
        if q > 0.0 && best.is_none_or(|(_, b)| q > b) {
            best = Some((i, q));
        }
    }
    best.map(|(i, _)| i).ok_or_else(|| {
        ApiError::not_acceptable(format!(
            "this resource is available as {}; the Accept header allows none of them",
            offered.join(", ")
        ))
    })
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    const OFFERED: &[&str] = &["application/json", "text/csv"];

    fn pick(accept: Option<&str>) -> Result<usize, u16> {
        let mut req = TestRequest::default();
        if let Some(a) = accept {
            req = req.insert_header((header::ACCEPT, a));
        }
        negotiate(&req.to_http_request(), OFFERED).map_err(|e| e.status.as_u16())
    }

    #[test]
    fn quality_values_decide() {
        assert_eq!(pick(None), Ok(0));
        assert_eq!(pick(Some("text/csv")), Ok(1));
        assert_eq!(pick(Some("text/csv;q=0, */*")), Ok(0), "q=0 refuses CSV");
        assert_eq!(pick(Some("application/json;q=0.5, text/csv;q=0.9")), Ok(1));
        assert_eq!(pick(Some("*/*;q=0.1, text/*")), Ok(1), "the more specific range wins");
        assert_eq!(pick(Some("text/html,application/xhtml+xml,*/*;q=0.8")), Ok(0), "a browser gets JSON");
        assert_eq!(pick(Some("application/csv-ish")), Err(406));
        assert_eq!(pick(Some("text/csvx")), Err(406), "no substring matches");
        assert_eq!(pick(Some("garbage")), Ok(0), "an unparsable header is as good as none");
    }
}
