import { describe, expect, it } from 'vitest';
import { previousWindow, quarterNamed, windowAt, type Calendar } from './windows.js';

const london: Calendar = { zone: 'Europe/London', weekStart: 1, fiscalYearStartMonth: 1 };
const iso = (ms: number) => new Date(ms).toISOString();
const at = (s: string) => Date.parse(s);

describe('calendar windows', () => {
  it('months end at local midnight, whatever the UTC offset', () => {
    const w = windowAt({ period: 'month' }, at('2026-07-31T23:30:00Z'), london); // 00:30 on Aug 1st in London (BST)
    expect(w.label).toBe('2026-08');
    expect(iso(w.start)).toBe('2026-07-31T23:00:00.000Z');
    expect(iso(w.end)).toBe('2026-08-31T23:00:00.000Z');
    const jan = windowAt({ period: 'month' }, at('2026-01-31T23:59:59Z'), london);
    expect([jan.label, iso(jan.end)]).toEqual(['2026-01', '2026-02-01T00:00:00.000Z']);
  });

  it('a day is 23 hours when clocks go forward and 25 when they go back', () => {
    const spring = windowAt({ period: 'day' }, at('2026-03-29T12:00:00Z'), london);
    expect((spring.end - spring.start) / 3_600_000).toBe(23);
    const autumn = windowAt({ period: 'day' }, at('2026-10-25T12:00:00Z'), london);
    expect((autumn.end - autumn.start) / 3_600_000).toBe(25);
    const ny = windowAt({ period: 'day' }, at('2026-11-01T05:30:00Z'), { ...london, zone: 'America/New_York' });
    expect([ny.label, (ny.end - ny.start) / 3_600_000]).toEqual(['2026-11-01', 25]);
  });

  it('leap years have a 29th of February', () => {
    const feb = windowAt({ period: 'month' }, at('2028-02-29T12:00:00Z'), london);
    expect(feb.label).toBe('2028-02');
    expect((feb.end - feb.start) / 86_400_000).toBe(29);
    expect(windowAt({ period: 'day' }, at('2028-02-29T12:00:00Z'), london).label).toBe('2028-02-29');
    expect((windowAt({ period: 'year' }, at('2028-06-01T00:00:00Z'), { ...london, zone: 'UTC' }).end - Date.UTC(2028, 0, 1)) / 86_400_000).toBe(366);
  });

  it('weeks start on the configured day', () => {
    const wed = at('2026-11-18T12:00:00Z');
    expect(windowAt({ period: 'week' }, wed, london).label).toBe('week of 2026-11-16');
    expect(windowAt({ period: 'week' }, wed, { ...london, weekStart: 7 }).label).toBe('week of 2026-11-15');
    const w = windowAt({ period: 'week' }, at('2026-03-25T12:00:00Z'), london); // contains the clock change
    expect((w.end - w.start) / 3_600_000).toBe(7 * 24 - 1);
  });

  it('quarters and years follow the fiscal year', () => {
    const fy: Calendar = { ...london, fiscalYearStartMonth: 4 };
    expect(windowAt({ period: 'quarter' }, at('2026-05-10T00:00:00Z'), fy).label).toBe('FY2026-Q1');
    expect(windowAt({ period: 'quarter' }, at('2027-02-10T00:00:00Z'), fy).label).toBe('FY2026-Q4');
    const y = windowAt({ period: 'year' }, at('2027-02-10T00:00:00Z'), fy);
    expect([y.label, iso(y.start), iso(y.end)]).toEqual(['FY2026', '2026-03-31T23:00:00.000Z', '2027-03-31T23:00:00.000Z']);
    expect(windowAt({ period: 'quarter' }, at('2026-12-31T23:00:00Z'), { ...london, zone: 'UTC' }).label).toBe('2026-Q4');
    expect(previousWindow({ period: 'quarter' }, windowAt({ period: 'quarter' }, at('2026-05-10T00:00:00Z'), fy), fy)!.label).toBe('FY2025-Q4');
  });

  it('a fixed range covers its dates whole, in local time', () => {
    const w = windowAt({ from: '2026-11-01', to: '2026-11-30' }, at('2026-11-15T00:00:00Z'), london);
    expect([iso(w.start), iso(w.end)]).toEqual(['2026-11-01T00:00:00.000Z', '2026-12-01T00:00:00.000Z']);
    expect(previousWindow({ from: '2026-11-01', to: '2026-11-30' }, w, london)).toBeNull();
  });
});

describe('quarterNamed', () => {
  const utc = { zone: 'UTC', weekStart: 1, fiscalYearStartMonth: 1 };
  const april = { zone: 'Europe/London', weekStart: 1, fiscalYearStartMonth: 4 };
  it('finds a calendar quarter, and a fiscal one, by the label windows give it', () => {
    expect(quarterNamed('2026-Q2', utc)).toEqual({ start: Date.UTC(2026, 3, 1), end: Date.UTC(2026, 6, 1), label: '2026-Q2' });
    const fy = quarterNamed('FY2026-Q4', april)!;
    expect([new Date(fy.start).toISOString(), new Date(fy.end).toISOString()]).toEqual(['2027-01-01T00:00:00.000Z', '2027-03-31T23:00:00.000Z']); // April 1st in London is in summer time
  });
  it('refuses a label of the other kind, or none', () => {
    expect(quarterNamed('2026-Q2', april)).toBeNull();
    expect(quarterNamed('FY2026-Q2', utc)).toBeNull();
    expect(quarterNamed('2026-Q5', utc)).toBeNull();
  });
});
