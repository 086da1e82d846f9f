import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NatsError } from 'nats';
import { NatsUnavailableError } from '../../../shared/errors.js';
import { isConsumerNotFound, isRefused, isRevisionConflict, isStreamNotFound, jsErrCode, natsClientCode, natsErrorKind } from '../../../shared/nats-errors.js';

/** A JetStream API error as nats.js builds it (jsbaseclient_api.ts parseJsResponse). */
function apiError(code: number, errCode: number, description: string): NatsError {
  const err = new NatsError(description, String(code));
  err.api_error = { code, err_code: errCode, description };
  return err;
}

describe('NATS error classifier', () => {
  it('tells JetStream errors apart by their API error code, not their text', () => {
    assert.equal(natsErrorKind(apiError(404, 10059, 'stream not found')), 'stream-not-found');
    assert.equal(natsErrorKind(apiError(404, 10014, 'consumer not found')), 'consumer-not-found');
    assert.equal(natsErrorKind(apiError(404, 10037, 'no message found')), 'no-message');
    assert.equal(natsErrorKind(apiError(400, 10058, 'stream name already in use with a different configuration')), 'stream-name-in-use');
    assert.equal(natsErrorKind(apiError(400, 10071, 'wrong last sequence: 7')), 'wrong-last-sequence');
    // The same 404 with another code is not a missing stream, whatever its text says.
    assert.equal(isStreamNotFound(apiError(404, 10014, 'stream not found')), false);
    assert.equal(isRevisionConflict(apiError(400, 10071, 'something else entirely')), true);
    assert.equal(isConsumerNotFound(apiError(404, 10014, '')), true);
  });

  it('reads the client codes of nats.js errors', () => {
    assert.equal(natsErrorKind(new NatsError('x', 'PERMISSIONS_VIOLATION')), 'refused');
    assert.equal(natsErrorKind(new NatsError('x', 'AUTHORIZATION_VIOLATION')), 'refused');
    assert.equal(natsErrorKind(new NatsError('x', 'AUTHENTICATION_EXPIRED')), 'refused');
    assert.equal(natsErrorKind(new NatsError('x', '503')), 'no-responders');
    assert.equal(natsErrorKind(new NatsError('x', 'TIMEOUT')), 'timeout');
    assert.equal(natsErrorKind(new NatsError('x', 'CONNECTION_REFUSED')), 'connection');
    assert.equal(natsErrorKind(new NatsError('x', 'CONNECTION_CLOSED')), 'connection');
    assert.equal(natsErrorKind(new NatsError('x', 'BAD_JSON')), 'other');
  });

  it('looks through the errors that wrap a NATS error', () => {
    const refused = new NatsError('Authorization Violation', 'AUTHORIZATION_VIOLATION');
    const wrapped = new NatsUnavailableError('nats://h:4222', 'cannot connect', { cause: refused });
    assert.equal(isRefused(wrapped), true);
    assert.equal(natsClientCode(wrapped), 'AUTHORIZATION_VIOLATION');
    const deeper = new Error('outer', { cause: new Error('middle', { cause: apiError(404, 10059, 'stream not found') }) });
    assert.equal(jsErrCode(deeper), 10059);
  });

  it('does not take message text, our own codes or errno codes for NATS codes', () => {
    assert.equal(natsErrorKind(new Error('Permissions Violation for Publish to "x"')), 'other');
    assert.equal(natsErrorKind(new Error('wrong last sequence: 3')), 'other');
    assert.equal(natsErrorKind(new NatsUnavailableError('u', 'no NATS')), 'other');
    assert.equal(natsErrorKind(Object.assign(new Error('reset'), { code: 'ECONNRESET' })), 'other');
    assert.equal(natsErrorKind(undefined), 'other');
    assert.equal(natsErrorKind('a string'), 'other');
  });

  it('does not loop on a cycle of causes', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    assert.equal(natsErrorKind(a), 'other');
  });
});
