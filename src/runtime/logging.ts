/**
 * The operator's one logger: winston, writing JSON (default, for log pipelines)
 * or text (for people at a terminal), to stderr unless a stream is given.
 *
 * Contract: runtime modules depend on the small `Logger` interface, not on
 * winston, so tests can capture lines. Each reconcile logs through
 * `logger.child({ cluster, reconcileId })`, so every line of one reconcile can be
 * found by either field. Errors are logged as fields via `errorFields(err)`,
 * because JSON-serialising an `Error` object drops its message.
 */
import type { Writable } from 'node:stream';
import winston from 'winston';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFormat = 'json' | 'text';
export type LogFields = Record<string, unknown>;

export interface Logger {
  error(message: string, fields?: LogFields): unknown;
  warn(message: string, fields?: LogFields): unknown;
  info(message: string, fields?: LogFields): unknown;
  debug(message: string, fields?: LogFields): unknown;
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  readonly level?: LogLevel;
  readonly format?: LogFormat;
  /** Where lines go; stderr by default (stdout stays free for command output). */
  readonly stream?: Writable;
  /** Fields on every line, e.g. `{ component: 'zookeeper-operator' }`. */
  readonly defaultFields?: LogFields;
}

const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];
const LOG_FORMATS: readonly LogFormat[] = ['json', 'text'];

export function parseLogLevel(value: string): LogLevel {
  const level = LOG_LEVELS.find((candidate) => candidate === value);
  if (level === undefined)
    throw new Error(`unknown log level ${JSON.stringify(value)}; use one of ${LOG_LEVELS.join(', ')}`);
  return level;
}

export function parseLogFormat(value: string): LogFormat {
  const format = LOG_FORMATS.find((candidate) => candidate === value);
  if (format === undefined) {
    throw new Error(`unknown log format ${JSON.stringify(value)}; use one of ${LOG_FORMATS.join(', ')}`);
  }
  return format;
}

/** `ts level message key=value …` with keys sorted, so text lines are stable and greppable. */
const textLine = winston.format.printf((info) => {
  const { level, message, timestamp, ...fields } = info;
  const pairs = Object.keys(fields)
    .sort()
    .map((key) => `${key}=${formatTextValue(fields[key])}`);
  return [String(timestamp), level, String(message), ...pairs].join(' ');
});

function formatTextValue(value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  return JSON.stringify(value) ?? String(value);
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const format = options.format ?? 'json';
  const transport =
    options.stream === undefined
      ? new winston.transports.Console({ stderrLevels: [...LOG_LEVELS] })
      : new winston.transports.Stream({ stream: options.stream });
  return winston.createLogger({
    level: options.level ?? 'info',
    defaultMeta: options.defaultFields,
    format: winston.format.combine(winston.format.timestamp(), format === 'json' ? winston.format.json() : textLine),
    transports: [transport],
  });
}

/** Fields describing an error for a log line: message, and status/reason/cause when present. */
export function errorFields(err: unknown): LogFields {
  if (!(err instanceof Error)) return { error: String(err) };
  const fields: LogFields = { error: err.message };
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'number' || typeof code === 'string') fields.errorCode = code;
  const cause = err.cause;
  if (cause instanceof Error) fields.cause = cause.message;
  return fields;
}

/** A logger that keeps lines in memory, for tests and for code that must not print. */
export class MemoryLogger implements Logger {
  readonly lines: Array<{ level: LogLevel; message: string; fields: LogFields }>;
  private readonly fields: LogFields;

  constructor(fields: LogFields = {}, lines: MemoryLogger['lines'] = []) {
    this.fields = fields;
    this.lines = lines;
  }

  error(message: string, fields?: LogFields): void {
    this.record('error', message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.record('warn', message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.record('info', message, fields);
  }
  debug(message: string, fields?: LogFields): void {
    this.record('debug', message, fields);
  }
  /** Children share the parent's line list, like winston children share transports. */
  child(fields: LogFields): MemoryLogger {
    return new MemoryLogger({ ...this.fields, ...fields }, this.lines);
  }

  private record(level: LogLevel, message: string, fields: LogFields = {}): void {
    this.lines.push({ level, message, fields: { ...this.fields, ...fields } });
  }
}
