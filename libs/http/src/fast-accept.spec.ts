import { describe, expect, it } from 'vitest';
import { isPlainJson } from './fast-accept';

describe('isPlainJson (a free-form object the full checks return unchanged)', () => {
  it('takes JSON values', () => {
    expect(isPlainJson(JSON.parse('{"a":1,"b":[true,null,"x",{"c":{}}],"d":-0.5}'))).toBe(true);
    expect(isPlainJson([])).toBe(true);
  });

  it('leaves keys Nest strips or class-transformer drops, and anything JSON.parse does not make', () => {
    for (const text of ['{"constructor":1}', '{"a":{"prototype":1}}', '{"toString":1}', '{"a":[{"hasOwnProperty":1}]}'])
      expect(isPlainJson(JSON.parse(text)), text).toBe(false);
    expect(isPlainJson({ a: undefined })).toBe(false);
    expect(isPlainJson({ a: Number.NaN })).toBe(false);
    expect(isPlainJson({ a: new Date() })).toBe(false);
    expect(isPlainJson(Object.create({ inherited: 1 }))).toBe(false);
    // eslint-disable-next-line no-sparse-arrays -- a gap the full checks would close
    expect(isPlainJson([1, , 2])).toBe(false);
    let deep: unknown = {};
    for (let i = 0; i < 70; i++) deep = { d: deep };
    expect(isPlainJson(deep)).toBe(false);
  });
});
