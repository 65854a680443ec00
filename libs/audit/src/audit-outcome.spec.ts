import { describe, expect, it } from 'vitest';
import { AUDIT_OUTCOMES, outcomeOf } from './audit.schema';

describe('outcomeOf (the final outcome, kept apart from the decision)', () => {
  it('names what the request finally got, whatever the decision said', () => {
    expect(outcomeOf('allow', 200)).toBe('success');
    expect(outcomeOf('allow', 201)).toBe('success');
    expect(outcomeOf('allow', 403)).toBe('refused');
    expect(outcomeOf('allow', 409)).toBe('refused');
    expect(outcomeOf('deny', 403)).toBe('denied');
    expect(outcomeOf('deny', 401)).toBe('denied');
    expect(outcomeOf('deny', 429)).toBe('denied');
    expect(outcomeOf(null, 404)).toBe('rejected');
    expect(outcomeOf(undefined, 400)).toBe('rejected');
    expect(outcomeOf(null, 302)).toBe('success');
    expect(outcomeOf('allow', 500)).toBe('failed');
    expect(outcomeOf('deny', 503)).toBe('failed');
    expect(outcomeOf('allow', 499)).toBe('abandoned');
  });

  it('lists every outcome once', () => {
    expect(new Set(AUDIT_OUTCOMES).size).toBe(AUDIT_OUTCOMES.length);
    expect(AUDIT_OUTCOMES).toEqual(['success', 'denied', 'refused', 'rejected', 'failed', 'abandoned']);
  });
});
