//! Scheduled replica bounds (`spec.schedules`): recurring daily windows of local wall-clock
//! time, in one IANA time zone, during which other min/max replicas apply. Which bounds
//! apply at an instant, and when that next changes, are pure functions of the spec and the
//! instant.
//!
//! As AIBrix documents: start inclusive, end exclusive, no window across midnight, local
//! clock time even on daylight-saving days (a window starting in the hour a spring-forward
//! skips starts when the clock resumes; one in the hour a fall-back repeats is active for
//! both passes), no overlap between windows. Time zones come from the system's
//! /usr/share/zoneinfo, or from the copy jiff bundles into the binary where there is none.

use std::fmt;

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use kube::KubeSchema;
use serde::{Deserialize, Serialize};

use super::defaults;
use super::spec::PodAutoscalerSpec;

/// One recurring daily window with its replica bounds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
#[x_kube(validation = super::rules::SCHEDULE_SETS_A_BOUND)]
#[x_kube(validation = super::rules::SCHEDULE_STARTS_BEFORE_END)]
pub struct PodAutoscalerSchedule {
    /// Unique among the schedules; a lowercase RFC 1123 label such as business-hours.
    #[schemars(
        length(min = 1, max = crate::limits::DNS_LABEL),
        regex(pattern = crate::rules::DNS_LABEL.pattern)
    )]
    pub name: String,
    /// The IANA time zone the times are read in, e.g. America/Los_Angeles. Default UTC.
    /// Every schedule of a PodAutoscaler uses the same one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = crate::limits::TIME_ZONE))]
    pub timezone: Option<String>,
    /// The weekdays the window recurs on (Mon, Tue, Wed, Thu, Fri, Sat, Sun, in any case).
    /// Default every day.
    #[serde(
        rename = "daysOfWeek",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(
        length(min = 1, max = crate::limits::DAYS_OF_WEEK),
        inner(length(max = 3), regex(pattern = super::rules::WEEKDAY.pattern))
    )]
    pub days_of_week: Option<Vec<String>>,
    /// When the window opens (inclusive), HH:MM local time.
    #[serde(rename = "startTime")]
    #[schemars(length(max = 5), regex(pattern = super::rules::TIME_OF_DAY.pattern))]
    pub start_time: String,
    /// When the window closes (exclusive), HH:MM local time, later than startTime.
    #[serde(rename = "endTime")]
    #[schemars(length(max = 5), regex(pattern = super::rules::TIME_OF_DAY.pattern))]
    pub end_time: String,
    /// spec.minReplicas while the window is open.
    #[serde(
        rename = "minReplicas",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 0))]
    pub min_replicas: Option<i32>,
    /// spec.maxReplicas while the window is open.
    #[serde(
        rename = "maxReplicas",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 1))]
    pub max_replicas: Option<i32>,
}

/// The replica bounds in force, and the schedule that set them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveBounds {
    pub min_replicas: i32,
    pub max_replicas: i32,
    /// The open schedule's name; `None` when the spec's own bounds apply.
    pub active_schedule: Option<String>,
}

/// Why the schedules of a spec cannot be evaluated (the API refuses such specs; the
/// controller reports the error instead of guessing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("schedules[{index}].{field}: {message}")]
    Field {
        index: usize,
        field: &'static str,
        message: String,
    },
}

/// A wall-clock time of day, in minutes after midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeOfDay(u16);

impl TimeOfDay {
    /// Strict `HH:MM`, 00:00 to 23:59 (the TIME_OF_DAY pattern).
    pub fn parse(text: &str) -> Option<TimeOfDay> {
        let b = text.as_bytes();
        if b.len() != 5 || b[2] != b':' || !text.is_ascii() {
            return None;
        }
        let hours: u16 = text[..2].parse().ok()?;
        let minutes: u16 = text[3..].parse().ok()?;
        let digits = b[..2].iter().chain(&b[3..]).all(u8::is_ascii_digit);
        (digits && hours < 24 && minutes < 60).then_some(TimeOfDay(hours * 60 + minutes))
    }

    pub fn hour(self) -> i8 {
        (self.0 / 60) as i8
    }

    pub fn minute(self) -> i8 {
        (self.0 % 60) as i8
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour(), self.minute())
    }
}

/// A weekday from its three-letter English name, in any case.
pub fn parse_weekday(text: &str) -> Option<Weekday> {
    Some(match text.to_ascii_lowercase().as_str() {
        "mon" => Weekday::Monday,
        "tue" => Weekday::Tuesday,
        "wed" => Weekday::Wednesday,
        "thu" => Weekday::Thursday,
        "fri" => Weekday::Friday,
        "sat" => Weekday::Saturday,
        "sun" => Weekday::Sunday,
        _ => return None,
    })
}

/// The time zone named by a schedule's `timezone` (UTC when unset or empty).
pub fn time_zone(name: Option<&str>) -> Result<TimeZone, String> {
    let name = name
        .filter(|n| !n.is_empty())
        .unwrap_or(defaults::SCHEDULE_TIME_ZONE);
    jiff::tz::db().get(name).map_err(|_| {
        format!(
            "{name:?} {}: use a name such as Europe/Paris or America/Los_Angeles",
            super::rules::TIME_ZONE_KNOWN.message
        )
    })
}

/// A schedule, parsed.
#[derive(Debug, Clone)]
struct Window {
    name: String,
    zone: TimeZone,
    /// Indexed by `Weekday::to_monday_zero_offset`.
    days: [bool; 7],
    start: TimeOfDay,
    end: TimeOfDay,
    min_replicas: i32,
    max_replicas: i32,
}

impl Window {
    fn parse(
        index: usize,
        s: &PodAutoscalerSchedule,
        base: &EffectiveBounds,
    ) -> Result<Window, ScheduleError> {
        let fail = |field: &'static str, message: String| ScheduleError::Field {
            index,
            field,
            message,
        };
        let zone = time_zone(s.timezone.as_deref()).map_err(|m| fail("timezone", m))?;
        let mut days = [s.days_of_week.is_none(); 7];
        for day in s.days_of_week.iter().flatten() {
            let weekday = parse_weekday(day)
                .ok_or_else(|| fail("daysOfWeek", super::rules::WEEKDAY.message.into()))?;
            days[weekday.to_monday_zero_offset() as usize] = true;
        }
        let start = TimeOfDay::parse(&s.start_time)
            .ok_or_else(|| fail("startTime", super::rules::TIME_OF_DAY.message.into()))?;
        let end = TimeOfDay::parse(&s.end_time)
            .ok_or_else(|| fail("endTime", super::rules::TIME_OF_DAY.message.into()))?;
        if start >= end {
            return Err(fail(
                "endTime",
                super::rules::SCHEDULE_STARTS_BEFORE_END.message.into(),
            ));
        }
        Ok(Window {
            name: s.name.clone(),
            zone,
            days,
            start,
            end,
            min_replicas: s.min_replicas.unwrap_or(base.min_replicas),
            max_replicas: s.max_replicas.unwrap_or(base.max_replicas),
        })
    }

    fn open_at(&self, now: Timestamp) -> bool {
        let local = now.to_zoned(self.zone.clone());
        let minute = TimeOfDay(local.hour() as u16 * 60 + local.minute() as u16);
        self.days[local.weekday().to_monday_zero_offset() as usize]
            && self.start <= minute
            && minute < self.end
    }

    /// The first instant after `now` at which the window opens or closes. Between two
    /// boundaries and the zone's offset changes, local time only moves forward, so the
    /// window's state can change only at those instants: they are tried in order.
    fn next_change(&self, now: Timestamp) -> Option<Timestamp> {
        let horizon = now
            .checked_add(jiff::SignedDuration::from_hours(8 * 24))
            .ok()?;
        let today = now.to_zoned(self.zone.clone()).date();
        let boundaries = (0..=8)
            .filter_map(|offset| today.checked_add(offset.days()).ok())
            .flat_map(|date: Date| {
                [self.start, self.end].map(|t| {
                    date.at(t.hour(), t.minute(), 0, 0)
                        .to_zoned(self.zone.clone())
                        .ok()
                        .map(|z| z.timestamp())
                })
            })
            .flatten();
        let offset_changes = self
            .zone
            .following(now)
            .map(|t| t.timestamp())
            .take_while(|t| *t <= horizon);
        let mut candidates: Vec<Timestamp> = boundaries
            .chain(offset_changes)
            .filter(|t| *t > now && *t <= horizon)
            .collect();
        candidates.sort();
        let open = self.open_at(now);
        candidates.into_iter().find(|t| self.open_at(*t) != open)
    }
}

/// The spec's own bounds: minReplicas (default 1) and maxReplicas.
pub fn base_bounds(spec: &PodAutoscalerSpec) -> EffectiveBounds {
    EffectiveBounds {
        min_replicas: spec.effective_min_replicas(),
        max_replicas: spec.max_replicas,
        active_schedule: None,
    }
}

fn windows(spec: &PodAutoscalerSpec) -> Result<Vec<Window>, ScheduleError> {
    let base = base_bounds(spec);
    spec.schedules
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, s)| Window::parse(i, s, &base))
        .collect()
}

/// The bounds in force at `now`: those of the open schedule, else the spec's own. A
/// schedule setting only one bound inherits the other from the spec.
pub fn effective_bounds(
    spec: &PodAutoscalerSpec,
    now: Timestamp,
) -> Result<EffectiveBounds, ScheduleError> {
    let open = windows(spec)?.into_iter().find(|w| w.open_at(now));
    Ok(match open {
        Some(w) => EffectiveBounds {
            min_replicas: w.min_replicas,
            max_replicas: w.max_replicas,
            active_schedule: Some(w.name),
        },
        None => base_bounds(spec),
    })
}

/// When the bounds next change (a schedule opens or closes), so a controller can wake up
/// then; `None` without schedules.
pub fn next_transition(
    spec: &PodAutoscalerSpec,
    now: Timestamp,
) -> Result<Option<Timestamp>, ScheduleError> {
    Ok(windows(spec)?
        .iter()
        .filter_map(|w| w.next_change(now))
        .min())
}

/// Whether two schedules share a weekday and a time of day (the rule
/// SCHEDULES_DO_NOT_OVERLAP). Unparseable times never overlap: their own rules report them.
pub fn overlap(a: &PodAutoscalerSchedule, b: &PodAutoscalerSchedule) -> bool {
    let days = |s: &PodAutoscalerSchedule| -> Option<Vec<Weekday>> {
        s.days_of_week
            .as_ref()
            .map(|d| d.iter().filter_map(|x| parse_weekday(x)).collect())
    };
    let shared_day = match (days(a), days(b)) {
        (Some(x), Some(y)) => x.iter().any(|d| y.contains(d)),
        _ => true,
    };
    let times = |s: &PodAutoscalerSchedule| {
        Some((
            TimeOfDay::parse(&s.start_time)?,
            TimeOfDay::parse(&s.end_time)?,
        ))
    };
    match (times(a), times(b)) {
        (Some((a0, a1)), Some((b0, b1))) => shared_day && a0 < b1 && b0 < a1,
        _ => false,
    }
}
