import { describe, expect, it } from 'vitest';
import { DIMENSIONS, emptyDims } from './dimensions.js';

describe('emptyDims', () => {
  it('has exactly the listed dimensions, all null', () => {
    const d = emptyDims();
    expect(Object.keys(d)).toEqual([...DIMENSIONS]);
    expect(Object.values(d).every((v) => v === null)).toBe(true);
  });
});
