import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from './database-unavailable';

const coded = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('isDatabaseUnavailable', () => {
  it.each([
    ['pg-pool found no connection in time', new Error('timeout exceeded when trying to connect')],
    ['the connection ended', new Error('Connection terminated unexpectedly')],
    ['a connection timeout', new Error('Connection terminated due to connection timeout')],
    ['a broken client', new Error('Client has encountered a connection error and is not queryable')],
    ['a query timeout', new Error('Query read timeout')],
    ['a socket reset', coded('ECONNRESET')],
    ['a refused connection', coded('ECONNREFUSED')],
    ['SQLSTATE 08006 connection failure', coded('08006')],
    ['SQLSTATE 57P01 admin shutdown', coded('57P01')],
    ['SQLSTATE 57P03 cannot connect now', coded('57P03')],
    ['SQLSTATE 53300 too many connections', coded('53300')],
    ['SQLSTATE 57014 statement timeout', coded('57014')],
    ['embedded PGlite closed during shutdown', new Error('PGlite is closed')],
    ["drizzle's wrapper around a reset", new Error('Failed query: insert into ...', { cause: coded('ECONNRESET') })],
  ])('%s: yes', (_, err) => expect(isDatabaseUnavailable(err)).toBe(true));

  it.each([
    ['a unique violation', coded('23505', 'duplicate key value violates unique constraint')],
    ['invalid text (NUL)', coded('22021', 'invalid byte sequence for encoding "UTF8": 0x00')],
    ['a syntax error', coded('42601')],
    ['a programming error', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['an outbound HTTP call that failed on a socket', new TypeError('fetch failed', { cause: coded('ECONNREFUSED') })],
    ['not an error', 'Connection terminated'],
    ['nothing', undefined],
  ])('%s: no', (_, err) => expect(isDatabaseUnavailable(err)).toBe(false));
});
