/**
 * Budget windows: day, week, month, quarter and year aligned to the calendar in the
 * organisation's time zone (weeks from a chosen weekday, quarters and years from the fiscal
 * year's first month), or a fixed date range. Luxon does the calendar arithmetic, so month
 * ends, leap years and daylight-saving changes (a 23- or 25-hour day) come out right.
 */
import { DateTime } from 'luxon';

export interface Calendar {
  readonly zone: string;
  /** ISO weekday a week starts on: 1 = Monday ... 7 = Sunday. */
  readonly weekStart: number;
  /** Month (1-12) the fiscal year starts in; quarters and years follow it. */
  readonly fiscalYearStartMonth: number;
}

export const PERIODS = ['day', 'week', 'month', 'quarter', 'year'] as const;
export type Period = (typeof PERIODS)[number];

/** A calendar period, or a fixed range of dates (both inclusive) that expires. */
export type WindowSpec = { readonly period: Period } | { readonly from: string; readonly to: string };

export interface Window {
  /** Epoch ms, inclusive. */
  readonly start: number;
  /** Epoch ms, exclusive. */
  readonly end: number;
  readonly label: string;
}

function local(ms: number, cal: Calendar): DateTime {
  return DateTime.fromMillis(ms, { zone: cal.zone });
}

function fiscalOffset(month: number, cal: Calendar): number {
  return (month - cal.fiscalYearStartMonth + 12) % 12;
}

function periodStart(period: Period, t: DateTime, cal: Calendar): DateTime {
  switch (period) {
    case 'day':
      return t.startOf('day');
    case 'week':
      return t.startOf('day').minus({ days: (t.weekday - cal.weekStart + 7) % 7 });
    case 'month':
      return t.startOf('month');
    case 'quarter':
      return t.startOf('month').minus({ months: fiscalOffset(t.month, cal) % 3 });
    case 'year':
      return t.startOf('month').minus({ months: fiscalOffset(t.month, cal) });
  }
}

const LENGTH: Readonly<Record<Period, { days?: number; months?: number }>> = {
  day: { days: 1 },
  week: { days: 7 },
  month: { months: 1 },
  quarter: { months: 3 },
  year: { months: 12 },
};

function label(period: Period, start: DateTime, cal: Calendar): string {
  const fiscal = cal.fiscalYearStartMonth !== 1;
  switch (period) {
    case 'day':
      return start.toFormat('yyyy-MM-dd');
    case 'week':
      return `week of ${start.toFormat('yyyy-MM-dd')}`;
    case 'month':
      return start.toFormat('yyyy-MM');
    case 'quarter': {
      const q = Math.floor(fiscalOffset(start.month, cal) / 3) + 1;
      const fyStart = start.minus({ months: fiscalOffset(start.month, cal) });
      return fiscal ? `FY${fyStart.year}-Q${q}` : `${start.year}-Q${q}`;
    }
    case 'year':
      return fiscal ? `FY${start.year}` : `${start.year}`;
  }
}

/** The window of `spec` that contains `at` (for a fixed range: the range itself, whether or not it contains `at`). */
export function windowAt(spec: WindowSpec, at: number, cal: Calendar): Window {
  if ('from' in spec) {
    const start = DateTime.fromISO(spec.from, { zone: cal.zone }).startOf('day');
    const end = DateTime.fromISO(spec.to, { zone: cal.zone }).startOf('day').plus({ days: 1 });
    return { start: start.toMillis(), end: end.toMillis(), label: `${spec.from} to ${spec.to}` };
  }
  const start = periodStart(spec.period, local(at, cal), cal);
  return { start: start.toMillis(), end: start.plus(LENGTH[spec.period]).toMillis(), label: label(spec.period, start, cal) };
}

/** The window before `w` (none for a fixed range). */
export function previousWindow(spec: WindowSpec, w: Window, cal: Calendar): Window | null {
  if ('from' in spec) return null;
  return windowAt(spec, w.start - 1, cal);
}

/** Checks a calendar's settings; returns a problem or null. */
export function checkZone(zone: string): string | null {
  return DateTime.local({ zone }).isValid ? null : `"${zone}" is not a time zone (use an IANA name such as Europe/London)`;
}

/**
 * The quarter a label names, as the calendar labels quarters ("2026-Q2"; "FY2026-Q1" when the
 * fiscal year does not start in January), or null if the label is not one.
 */
export function quarterNamed(name: string, cal: Calendar): Window | null {
  const m = /^(FY)?(\d{4})-Q([1-4])$/.exec(name);
  if (!m) return null;
  const first = DateTime.fromObject({ year: Number(m[2]), month: m[1] ? cal.fiscalYearStartMonth : 1, day: 1 }, { zone: cal.zone }).plus({ months: (Number(m[3]) - 1) * 3 });
  const w = windowAt({ period: 'quarter' }, first.toMillis(), cal);
  return w.label === name ? w : null;
}
