//! Calendar dates for timestamps, without a date library: UTC only, which is all the
//! status pages and APIs print.

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's civil-from-days algorithm.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Milliseconds since the epoch as ISO 8601 / RFC 3339 in UTC, e.g. `2026-11-21T05:16:51.123Z`.
pub fn iso8601_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        ms.rem_euclid(1000)
    )
}

/// Days since 1970-01-01 of a civil date (the inverse of [`civil_from_days`]).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses a point in time the way Datadog's APIs take it, into milliseconds since the epoch:
/// epoch milliseconds (`1732183200000`), ISO 8601 / RFC 3339 (`2026-11-21T10:00:00Z`,
/// `2026-11-21T10:00:00.5+01:00`, or a date alone), or a time relative to `now_ms`: `now`,
/// `now-15m`, `now-2h` (units s, m, h, d, w). The error says what was expected.
pub fn parse_time_ms(text: &str, now_ms: i64) -> Result<i64, String> {
    let text = text.trim();
    let expected = || {
        format!(
            "{text:?} is not a time: use epoch milliseconds, ISO 8601 (2026-11-21T10:00:00Z) or now-15m (units s, m, h, d, w)"
        )
    };
    if let Some(rest) = text.strip_prefix("now") {
        if rest.is_empty() {
            return Ok(now_ms);
        }
        let (sign, amount) = match rest.as_bytes()[0] {
            b'-' => (-1, &rest[1..]),
            b'+' => (1, &rest[1..]),
            _ => return Err(expected()),
        };
        let unit_at = amount.find(|c: char| !c.is_ascii_digit()).ok_or_else(expected)?;
        let n: i64 = amount[..unit_at].parse().map_err(|_| expected())?;
        let unit_ms = match &amount[unit_at..] {
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            _ => return Err(expected()),
        };
        return n
            .checked_mul(unit_ms)
            .and_then(|d| now_ms.checked_add(sign * d))
            .ok_or_else(expected);
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().map_err(|_| expected());
    }
    parse_iso8601_ms(text).ok_or_else(expected)
}

/// ISO 8601 date or date-time, UTC unless an offset is given.
fn parse_iso8601_ms(text: &str) -> Option<i64> {
    let num =
        |s: &str| -> Option<i64> { (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())? };
    let (date, time) = match text.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let (y, m, d) = (num(parts.next()?)?, num(parts.next()?)?, num(parts.next()?)?);
    if parts.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, m as u32, d as u32);
    let mut ms = days * 86_400_000;
    if let Some(time) = time {
        let (clock, offset_ms) = if let Some(clock) = time.strip_suffix('Z') {
            (clock, 0)
        } else if let Some(at) = time.rfind(['+', '-']) {
            let (clock, offset) = time.split_at(at);
            let sign = if offset.starts_with('-') { -1 } else { 1 };
            let (oh, om) = offset[1..].split_once(':').unwrap_or((&offset[1..], "0"));
            (clock, sign * (num(oh)? * 3_600_000 + num(om)? * 60_000))
        } else {
            (time, 0)
        };
        let (hms, fraction) = clock.split_once('.').unwrap_or((clock, ""));
        let mut fields = hms.split(':');
        let h = num(fields.next()?)?;
        let mi = num(fields.next()?)?;
        let s = fields.next().map_or(Some(0), num)?;
        if fields.next().is_some() || h > 23 || mi > 59 || s > 60 {
            return None;
        }
        let frac_ms = if fraction.is_empty() {
            0
        } else {
            let digits: String = fraction.chars().chain("000".chars()).take(3).collect();
            num(&digits)?
        };
        ms += h * 3_600_000 + mi * 60_000 + s * 1000 + frac_ms - offset_ms;
    }
    Some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_every_accepted_form() {
        let now = 1_763_702_211_042;
        assert_eq!(parse_time_ms("now", now), Ok(now));
        assert_eq!(parse_time_ms("now-15m", now), Ok(now - 900_000));
        assert_eq!(parse_time_ms("now-2d", now), Ok(now - 172_800_000));
        assert_eq!(parse_time_ms("1732183200000", now), Ok(1_732_183_200_000));
        assert_eq!(parse_time_ms("2025-11-21T05:16:51.042Z", now), Ok(now));
        assert_eq!(parse_time_ms("2025-11-21T06:16:51.042+01:00", now), Ok(now));
        assert_eq!(parse_time_ms("2025-11-21", now), Ok(1_763_683_200_000));
        for bad in ["", "yesterday", "now-5x", "now*3", "2025-13-01", "2025-11-21T25:00:00Z"] {
            let err = parse_time_ms(bad, now).unwrap_err();
            assert!(err.contains("is not a time"), "{bad}: {err}");
        }
        for days in [-1000, 0, 11_016, 20_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn dates_and_iso8601() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(iso8601_ms(1_763_702_211_042), "2025-11-21T05:16:51.042Z");
        assert_eq!(iso8601_ms(-1), "1969-12-31T23:59:59.999Z");
    }
}
