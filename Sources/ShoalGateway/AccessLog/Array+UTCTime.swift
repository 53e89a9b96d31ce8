extension [UInt8] {
    /// Appends a time as RFC 3339 in UTC with milliseconds: `2026-11-29T10:31:02.123Z`.
    mutating func appendUTCTime(millisecondsSinceEpoch milliseconds: Int64) {
        let (days, msOfDay) = milliseconds.floorDivided(by: 86_400_000)
        let (year, month, day) = Self.civilDate(daysSinceEpoch: days)
        appendDecimal(year, digits: 4)
        append(UInt8(ascii: "-"))
        appendDecimal(month, digits: 2)
        append(UInt8(ascii: "-"))
        appendDecimal(day, digits: 2)
        append(UInt8(ascii: "T"))
        appendDecimal(msOfDay / 3_600_000, digits: 2)
        append(UInt8(ascii: ":"))
        appendDecimal(msOfDay / 60_000 % 60, digits: 2)
        append(UInt8(ascii: ":"))
        appendDecimal(msOfDay / 1000 % 60, digits: 2)
        append(UInt8(ascii: "."))
        appendDecimal(msOfDay % 1000, digits: 3)
        append(UInt8(ascii: "Z"))
    }

    /// Appends a count of nanoseconds as milliseconds with three decimals: `1.834`.
    mutating func appendMilliseconds(nanoseconds: Int64) {
        let microseconds = Swift.max(0, nanoseconds / 1000)
        appendDecimal(microseconds / 1000)
        append(UInt8(ascii: "."))
        appendDecimal(microseconds % 1000, digits: 3)
    }

    /// The year, month (1…12) and day (1…31) `days` after 1970-01-01, in the proleptic
    /// Gregorian calendar. The count goes by 400-year cycles from 0000-03-01, so that a leap
    /// day falls at the end of a counted year (Howard Hinnant's `civil_from_days`).
    static func civilDate(daysSinceEpoch days: Int64) -> (Int64, Int64, Int64) {
        let (era, dayOfEra) = (days + 719_468).floorDivided(by: 146_097)
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153  // 0 is March
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }
}

extension Int64 {
    /// The quotient rounded down and the remainder, which is never negative.
    fileprivate func floorDivided(by divisor: Int64) -> (Int64, Int64) {
        let remainder = self % divisor
        return remainder < 0 ? (self / divisor - 1, remainder + divisor) : (self / divisor, remainder)
    }
}
