//! Just enough RFC 3339 to read a key's `ExpirationUtc`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`, years 1970..=9999.
#[cfg(test)]
fn parse(text: &str) -> Option<SystemTime> {
    parse_with(text, false)
}

/// Parses an RFC 3339 date-time as `parse` does; with `offsetless_is_utc`, a date-time without an offset
/// (.NET's `DateTime` default, `2030-01-01T00:00:00`) is read as UTC.
pub(crate) fn parse_with(text: &str, offsetless_is_utc: bool) -> Option<SystemTime> {
    let b = text.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u64> {
        let digits = b.get(range)?;
        digits
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| digits.iter().fold(0, |a, &d| a * 10 + u64::from(d - b'0')))
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if year < 1970 || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    // Leap seconds (60) are read as the last second of the minute.
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &b[19..];
    let mut nanos = 0u32;
    if rest.first() == Some(&b'.') {
        let digits = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        for (i, d) in rest[1..=digits].iter().enumerate() {
            if i < 9 {
                nanos += u32::from(d - b'0') * 10u32.pow(8 - i as u32);
            }
        }
        rest = &rest[1 + digits..];
    }
    let offset_seconds: i64 = match rest {
        [] if offsetless_is_utc => 0,
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digits = [*h1, *h2, *m1, *m2];
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let hours = i64::from((h1 - b'0') * 10 + (h2 - b'0'));
            let minutes = i64::from((m1 - b'0') * 10 + (m2 - b'0'));
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = hours * 3600 + minutes * 60;
            if *sign == b'+' { offset } else { -offset }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let local = days * 86_400 + (hour * 3600 + minute * 60 + second.min(59)) as i64;
    let utc = u64::try_from(local - offset_seconds).ok()?;
    Some(UNIX_EPOCH + Duration::new(utc, nanos))
}

fn is_leap(year: u64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a date on or after it.
fn days_from_civil(year: u64, month: u64, day: u64) -> i64 {
    let before_year: u64 = (1970..year)
        .map(|y| if is_leap(y) { 366 } else { 365 })
        .sum();
    let before_month: u64 = (1..month).map(|m| days_in_month(year, m)).sum();
    (before_year + before_month + day - 1) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(text: &str) -> Option<u64> {
        parse(text).map(|t| {
            t.duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        })
    }

    #[test]
    fn known_instants() {
        assert_eq!(secs("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(secs("2024-07-06T15:46:26.409Z"), Some(1_720_280_786));
        assert_eq!(secs("2024-07-06T17:46:26+02:00"), Some(1_720_280_786));
        assert_eq!(secs("2024-02-29T00:00:00Z"), Some(1_709_164_800));
        assert_eq!(
            parse("2024-07-06T15:46:26.409Z")
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.subsec_millis()),
            Some(409)
        );
    }

    #[test]
    fn offsetless_only_on_request() {
        assert_eq!(parse("2030-01-01T00:00:00"), None);
        assert_eq!(
            parse_with("2030-01-01T00:00:00", true),
            parse("2030-01-01T00:00:00Z")
        );
        assert_eq!(
            parse_with("2030-01-01T00:00:00.5", true),
            parse("2030-01-01T00:00:00.5Z")
        );
    }

    #[test]
    fn refuses_malformed() {
        for bad in [
            "",
            "2024-07-06",
            "2024-07-06T15:46:26",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-07-06T24:00:00Z",
            "2024-07-06T15:46:26.Z",
            "2024-07-06T15:46:26+2:00",
            "1969-12-31T23:59:59Z",
            "2024-07-06T15:46:26Zjunk",
            "２０２4-07-06T15:46:26Z",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
