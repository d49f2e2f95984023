import { PassThrough } from 'node:stream';
import test from 'ava';
import {
  createLogger,
  errorFields,
  type LoggerOptions,
  parseLogFormat,
  parseLogLevel,
} from '../../../src/runtime/logging.js';

/** Logs through a real winston logger into memory and returns the written lines. */
async function captureLines(
  options: Omit<LoggerOptions, 'stream'>,
  write: (logger: ReturnType<typeof createLogger>) => void,
) {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  write(createLogger({ ...options, stream }));
  await new Promise((resolve) => setImmediate(resolve));
  return chunks.join('').trim().split('\n').filter(Boolean);
}

test('json lines carry the child fields cluster and reconcileId', async (t) => {
  const lines = await captureLines({ format: 'json' }, (logger) => {
    logger.child({ cluster: 'zk/main', reconcileId: 'r-1' }).info('scaled up', { members: 3 });
  });
  t.is(lines.length, 1);
  const line = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
  t.like(line, { level: 'info', message: 'scaled up', cluster: 'zk/main', reconcileId: 'r-1', members: 3 });
  t.is(typeof line.timestamp, 'string');
});

test('text lines are "timestamp level message key=value" with keys sorted', async (t) => {
  const lines = await captureLines({ format: 'text' }, (logger) => {
    logger.child({ reconcileId: 'r-1', cluster: 'zk/main' }).warn('quorum at risk', { reason: 'two members down' });
  });
  t.regex(lines[0] ?? '', /^\S+ warn quorum at risk cluster=zk\/main reason="two members down" reconcileId=r-1$/);
});

test('the level filters lower-priority lines', async (t) => {
  const lines = await captureLines({ level: 'warn' }, (logger) => {
    logger.debug('observed');
    logger.info('acted');
    logger.error('failed');
  });
  t.is(lines.length, 1);
  t.regex(lines[0] ?? '', /"failed"/);
});

test('level and format flags are validated', (t) => {
  t.is(parseLogLevel('debug'), 'debug');
  t.is(parseLogFormat('text'), 'text');
  t.throws(() => parseLogLevel('verbose'), { message: /unknown log level "verbose"/ });
  t.throws(() => parseLogFormat('yaml'), { message: /unknown log format "yaml"/ });
});

test('errorFields keeps the message, code and cause that JSON.stringify would drop', (t) => {
  const err = Object.assign(new Error('update failed', { cause: new Error('connect ECONNREFUSED') }), { code: 503 });
  t.deepEqual(errorFields(err), { error: 'update failed', errorCode: 503, cause: 'connect ECONNREFUSED' });
  t.deepEqual(errorFields('plain'), { error: 'plain' });
});
