import type { ArgumentMetadata } from '@nestjs/common';
import { getMetadataStorage } from 'class-validator';
import { createValidationPipe } from '@platform/http';
import { describe, expect, it } from 'vitest';
import { EventInput, IngestEventsInput, ingestBodyIfValid } from './event.dto';

const body: ArgumentMetadata = { type: 'body', metatype: IngestEventsInput, data: undefined };
const event = { name: 'page.view', timestamp: '2026-11-30T12:00:00Z' };

/** Bodies the full checks accept; the fast acceptance takes each of them. */
const VALID: Record<string, unknown> = {
  'one event': { events: [event] },
  'every field': {
    events: [
      { ...event, properties: { path: '/a', n: 1.5, ok: true, none: null, list: [1, 'x', { a: [] }] }, userId: 'u-1' },
    ],
  },
  'offsets and fractions': {
    events: [
      { name: 'a:b_c-d.e', timestamp: '2026-02-28T23:59:59.123456789+05:30' },
      { name: 'x', timestamp: '0001-01-01T00:00:00Z' },
    ],
  },
  'empty properties': { events: [{ ...event, properties: {} }] },
  'a full batch': { events: Array.from({ length: 1000 }, (_, i) => ({ ...event, userId: `u-${i}` })) },
  'a 200-character user': { events: [{ ...event, userId: 'é'.repeat(200) }] },
};

/** Bodies the fast acceptance leaves to the full checks: refused, or accepted with a change it does not make. */
const LEFT_TO_FULL_CHECKS: Record<string, unknown> = {
  'no events': { events: [] },
  'too many events': { events: Array.from({ length: 1001 }, () => event) },
  'events not an array': { events: event },
  'an extra root key': { events: [event], more: 1 },
  'an extra event key': { events: [{ ...event, extra: 1 }] },
  'a key named like an Object.prototype property': { events: [{ ...event, toString: 'x' }] },
  'properties with toString': { events: [{ ...event, properties: { toString: 1, a: 1 } }] },
  'properties with constructor': { events: [{ ...event, properties: { nested: { constructor: 1, b: 2 } } }] },
  'properties with prototype': { events: [{ ...event, properties: { prototype: 1 } }] },
  'properties null': { events: [{ ...event, properties: null }] },
  'properties an array': { events: [{ ...event, properties: [1] }] },
  'properties a string': { events: [{ ...event, properties: 'x' }] },
  'userId null': { events: [{ ...event, userId: null }] },
  'userId empty': { events: [{ ...event, userId: '' }] },
  'userId too long': { events: [{ ...event, userId: 'u'.repeat(201) }] },
  'userId with an emoji (counted as one character)': { events: [{ ...event, userId: '😀'.repeat(150) }] },
  'userId with a variation selector': { events: [{ ...event, userId: '\uFE0F' }] },
  'userId a number': { events: [{ ...event, userId: 7 }] },
  'a bad name': { events: [{ ...event, name: 'no spaces' }] },
  'a name too long': { events: [{ ...event, name: 'n'.repeat(101) }] },
  'no name': { events: [{ timestamp: event.timestamp }] },
  'no timestamp': { events: [{ name: 'a' }] },
  'a timestamp without a zone': { events: [{ ...event, timestamp: '2026-11-30T12:00:00' }] },
  'February 30': { events: [{ ...event, timestamp: '2026-02-30T12:00:00Z' }] },
  'a leap second': { events: [{ ...event, timestamp: '2026-12-31T23:59:60Z' }] },
  'an event that is not an object': { events: ['x'] },
  'a nested array event': { events: [[event]] },
  'a null body': null,
  'an array body': [{ events: [event] }],
};

/** What the pipe makes of a body: the DTO, or the refusal's status and field errors. */
async function outcome(fastAccept: boolean, value: unknown): Promise<unknown> {
  const pipe = createValidationPipe({ fastAccept });
  try {
    return { accepted: (await pipe.transform(structuredClone(value), body)) as unknown };
  } catch (error) {
    const refused = error as { getStatus?: () => number; errors?: unknown; message: string };
    return { refused: refused.getStatus?.(), errors: refused.errors, message: refused.message };
  }
}

describe('the ingest body fast acceptance', () => {
  it.each(Object.entries(VALID))('takes %s, building what the full checks build', async (_name, value) => {
    const fast = ingestBodyIfValid(structuredClone(value));
    expect(fast).toBeInstanceOf(IngestEventsInput);
    for (const e of fast!.events) expect(e).toBeInstanceOf(EventInput);
    const full = await outcome(false, value);
    expect(full).toHaveProperty('accepted');
    expect(await outcome(true, value)).toStrictEqual(full);
    expect({ accepted: fast }).toStrictEqual(full);
  });

  it.each(Object.entries(LEFT_TO_FULL_CHECKS))(
    'leaves %s to the full checks, so the answer is theirs',
    async (_name, value) => {
      expect(ingestBodyIfValid(structuredClone(value))).toBeUndefined();
      expect(await outcome(true, value)).toStrictEqual(await outcome(false, value));
    },
  );

  it('refuses through the full checks with their field errors', async () => {
    expect(await outcome(true, { events: [{ ...event, name: 'no spaces' }] })).toMatchObject({
      refused: 400,
      errors: [{ path: 'events.0.name', messages: ['name must be 1-100 characters of letters, digits, _ . : -'] }],
    });
  });
});

describe('the rules the fast acceptance mirrors', () => {
  /** The class-validator rules of a DTO class, as (property, rule, constraints) lines. */
  const rulesOf = (dto: new () => object) =>
    getMetadataStorage()
      .getTargetValidationMetadatas(dto, '', true, false)
      .map(
        (m) =>
          `${m.propertyName}: ${m.name ?? m.type} ${JSON.stringify(m.constraints ?? [], (_k, v: unknown) => (v instanceof RegExp ? String(v) : v))}`,
      )
      .sort();

  it('are the ones ingestBodyIfValid was written for: a changed decorator fails here until it is updated too', () => {
    expect(rulesOf(IngestEventsInput)).toMatchInlineSnapshot(`
      [
        "events: arrayMaxSize [1000]",
        "events: arrayMinSize [1]",
        "events: isArray []",
        "events: nestedValidation []",
      ]
    `);
    expect(rulesOf(EventInput)).toMatchInlineSnapshot(`
      [
        "name: matches ["/^[A-Za-z0-9_.:-]{1,100}$/",null]",
        "properties: isObject []",
        "properties: isOptional [null]",
        "timestamp: isRfc3339DateTime []",
        "userId: isLength [1,200]",
        "userId: isOptional [null]",
        "userId: isString []",
      ]
    `);
  });
});
