import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidOptionError } from '../../shared/errors.js';
import { hostPort, natsUrl, positiveInt, probability } from '../../shared/options.js';

describe('option validation', () => {
  it('refuses a bad field and names it', () => {
    assert.throws(() => positiveInt('slots', 0), (e: unknown) => e instanceof InvalidOptionError && e.field === 'slots' && /slots/.test(e.message));
    assert.throws(() => probability('repro', 1.5), /repro: must be a number from 0 to 1/);
    assert.throws(() => hostPort('coordinator', 'nowhere'), /coordinator: must be HOST:PORT/);
    assert.throws(() => natsUrl('nats', 'http://x'), /nats: must be a NATS URL/);
  });
  it('accepts good values', () => {
    assert.equal(positiveInt('slots', 3), 3);
    assert.equal(hostPort('coordinator', '127.0.0.1:7420'), '127.0.0.1:7420');
    assert.equal(natsUrl('nats', 'nats://127.0.0.1:4222'), 'nats://127.0.0.1:4222');
  });
});
