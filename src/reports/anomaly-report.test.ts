/** Off hours are judged in the organisation's time zone. */
import { describe, expect, it } from 'vitest';
import { workingHour } from './anomaly-report.js';

describe('working hours', () => {
  it('follow the organisation\'s time zone and working days', () => {
    const tokyo = workingHour({ sensitivity: {}, timezone: 'Asia/Tokyo', workingHours: { start: 9, end: 18, days: [1, 2, 3, 4, 5] } });
    expect(tokyo(Date.UTC(2026, 10, 23, 0))).toBe(true); // Monday 09:00 in Tokyo
    expect(tokyo(Date.UTC(2026, 10, 23, 9))).toBe(false); // Monday 18:00 in Tokyo
    expect(tokyo(Date.UTC(2026, 10, 22, 23))).toBe(false); // Monday 08:00 in Tokyo
    expect(tokyo(Date.UTC(2026, 10, 21, 2))).toBe(false); // Saturday 11:00 in Tokyo
  });
});
