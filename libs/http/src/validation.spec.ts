import { ValidationPipe, type ArgumentMetadata } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsObject, IsOptional, IsString, ValidateNested } from 'class-validator';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registerFastAccept } from './fast-accept';
import { createValidationPipe, RequestValidationException } from './validation';

class Item {
  @IsString()
  name!: string;

  @IsOptional()
  @IsObject()
  properties?: Record<string, unknown>;
}

class Batch {
  @ValidateNested({ each: true })
  @Type(() => Item)
  items!: Item[];
}

const body: ArgumentMetadata = { type: 'body', metatype: Batch, data: undefined };

/** Nest's own walks for sparse arrays and binary values, as the platform pipe reaches them. */
interface NestWalks {
  closeArrayGaps(value: unknown): void;
  findNestedBinaryValues(object: unknown): unknown[];
}

describe('the platform ValidationPipe', () => {
  afterEach(() => vi.restoreAllMocks());

  it('validates and transforms a JSON body as Nest does, prototype keys stripped', async () => {
    const pipe = createValidationPipe();
    const parsed = JSON.parse('{"items":[{"name":"a","properties":{"constructor":1,"prototype":2,"n":1}}]}') as unknown;
    const batch = (await pipe.transform(parsed, body)) as Batch;
    expect(batch).toBeInstanceOf(Batch);
    expect(batch.items[0]).toBeInstanceOf(Item);
    expect(batch.items[0].properties).toEqual({ n: 1 });
    await expect(pipe.transform({ items: [{ name: 'a' }, { name: 1 }] }, body)).rejects.toMatchObject({
      errors: [{ path: 'items.1.name' }],
    });
    await expect(pipe.transform({ items: [{ name: 'a', extra: 1 }] }, body)).rejects.toBeInstanceOf(
      RequestValidationException,
    );
  });

  it("gives a custom decorator's value and a named string path parameter back at once, as Nest's pipe would", async () => {
    const pipe = createValidationPipe();
    const principal = { subject: 'alice' };
    const toValidate = vi.spyOn(ValidationPipe.prototype as unknown as { toValidate(): boolean }, 'toValidate');
    // Not a promise: no async wrapper for the parameters every route has.
    expect(pipe.transform(principal, { type: 'custom', metatype: Object })).toBe(principal);
    expect(pipe.transform('6b1c7f9e', { type: 'param', metatype: String, data: 'id' })).toBe('6b1c7f9e');
    expect(pipe.transform(undefined, { type: 'param', metatype: String, data: 'id' })).toBeUndefined();
    expect(toValidate).not.toHaveBeenCalled();
    // A number parameter is converted as Nest converts it; the path parameters object and DTOs are validated.
    expect(pipe.transform('42', { type: 'param', metatype: Number, data: 'n' })).toBe(42);
    await expect(pipe.transform({ items: [{ name: 1 }] }, body)).rejects.toBeInstanceOf(RequestValidationException);
    expect(pipe.transform({ id: 'x' }, { type: 'param', metatype: Object })).toBeInstanceOf(Promise);
  });

  it('skips the walks for sparse arrays and binary values on parsed input only, for that call only', async () => {
    const nest = ValidationPipe.prototype as unknown as NestWalks;
    const closeArrayGaps = vi.spyOn(nest, 'closeArrayGaps');
    const findNestedBinaryValues = vi.spyOn(nest, 'findNestedBinaryValues');
    const pipe = createValidationPipe();
    for (const type of ['body', 'query', 'param'] as const) {
      await pipe.transform({ items: [{ name: 'a' }] }, { ...body, type });
    }
    expect(closeArrayGaps).not.toHaveBeenCalled();
    expect(findNestedBinaryValues).not.toHaveBeenCalled();
    // Outside a transform of parsed input, Nest's walks run: a sparse array is closed.
    const walks = pipe as unknown as NestWalks;
    // eslint-disable-next-line no-sparse-arrays -- the case the walk exists for
    const sparse = [, 'a'];
    walks.closeArrayGaps(sparse);
    expect(sparse).toEqual(['a']);
    walks.findNestedBinaryValues(new Batch());
    expect(findNestedBinaryValues).toHaveBeenCalledTimes(1);
  });

  it('returns what a fast acceptance builds, and runs the full checks on what it leaves', async () => {
    class Fast {
      @IsString()
      name!: string;
    }
    const built = Object.assign(new Fast(), { name: 'built' });
    const accept = vi.fn((value: unknown) => ((value as { name?: unknown }).name === 'ok' ? built : undefined));
    registerFastAccept(Fast, accept);
    const fast: ArgumentMetadata = { type: 'body', metatype: Fast, data: undefined };
    expect(await createValidationPipe().transform({ name: 'ok' }, fast)).toBe(built);
    // Left to the full checks: accepted as they build it, or refused with their errors.
    expect(await createValidationPipe().transform({ name: 'other' }, fast)).toEqual(
      Object.assign(new Fast(), { name: 'other' }),
    );
    await expect(createValidationPipe().transform({ name: 1 }, fast)).rejects.toMatchObject({
      errors: [{ path: 'name' }],
    });
    // The reference pipe never asks it.
    accept.mockClear();
    expect(await createValidationPipe({ fastAccept: false }).transform({ name: 'ok' }, fast)).not.toBe(built);
    expect(accept).not.toHaveBeenCalled();
  });
});
