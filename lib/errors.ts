/**
 * The one table of error codes used anywhere in cio, and the error class that
 * carries them. Codes are plain upper snake case strings so that callers can
 * compare `err.code === codes.TIMEOUT` (or, for websocket-agent users,
 * `err == Agent.TIMEOUT`, which works because `toString()` yields the code
 * for agent errors).
 */
export const codes = {
  // configuration and API misuse
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  INVALID_OPTION: 'INVALID_OPTION',
  MODULE_LOAD: 'MODULE_LOAD',
  CERT_READ: 'CERT_READ',
  // chain and ordering engines
  CHAIN_FAILED: 'CHAIN_FAILED',
  CHAIN_INVALID_LISTENER: 'CHAIN_INVALID_LISTENER',
  ORDER_CYCLE: 'ORDER_CYCLE',
  ORDER_MISSING_ID: 'ORDER_MISSING_ID',
  ORDER_DUPLICATE_ID: 'ORDER_DUPLICATE_ID',
  // core listeners
  RELISTEN_FAILED: 'RELISTEN_FAILED',
  CLIENT_REJECTED: 'CLIENT_REJECTED',
  // framing
  FRAME_TOO_LARGE: 'FRAME_TOO_LARGE',
  FRAME_INVALID: 'FRAME_INVALID',
  // rpc
  TIMEOUT: 'TIMEOUT',
  ABORTED: 'ABORTED',
  DISCONNECTED: 'DISCONNECTED',
  UNKNOWN_ACTION: 'UNKNOWN_ACTION',
  INTERNAL_ERROR: 'INTERNAL_ERROR',
  INVALID_MESSAGE: 'INVALID_MESSAGE',
  TOO_MANY_PENDING: 'TOO_MANY_PENDING',
  // agents
  OFFLINE: 'OFFLINE',
  UNKNOWN_AGENT: 'UNKNOWN_AGENT',
  NO_CONNECTED_AGENTS: 'NO_CONNECTED_AGENTS',
  AGENT_NOT_CONNECTED: 'AGENT_NOT_CONNECTED',
  WRONG_SECRET: 'WRONG_SECRET',
  DUPLICATE_ID: 'DUPLICATE_ID',
  NOT_AUTHORIZED: 'NOT_AUTHORIZED',
  HANDSHAKE_TIMEOUT: 'HANDSHAKE_TIMEOUT',
  HEARTBEAT_TIMEOUT: 'HEARTBEAT_TIMEOUT',
  SEND_ALL_FAILED: 'SEND_ALL_FAILED',
  STORE_FAILED: 'STORE_FAILED',
  CLOSED: 'CLOSED',
  LISTEN_FAILED: 'LISTEN_FAILED',
  // several agent servers sharing one namespace (cio/redis)
  CLUSTER_UNAVAILABLE: 'CLUSTER_UNAVAILABLE',
  NODE_LOST: 'NODE_LOST',
} as const

/** Every error code cio can produce. */
export type CioErrorCode = (typeof codes)[keyof typeof codes]

/** Extra, code-specific facts attached to an error (option name, path, limit, id...). */
export type CioErrorDetails = Record<string, unknown>

export interface CioErrorOptions {
  /** The lower-level error this one wraps. */
  cause?: unknown
  /** Facts a program may want to inspect; also copied onto the error itself. */
  details?: CioErrorDetails
}

/**
 * The error every public cio function throws or rejects with. `code` is
 * stable and documented; `message` is a sentence meant for people.
 */
export class CioError extends Error {
  readonly code: CioErrorCode
  readonly details: CioErrorDetails

  constructor(code: CioErrorCode, message: string, options: CioErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'CioError'
    this.code = code
    this.details = options.details ?? {}
  }

  /**
   * Lets the websocket-agent idiom `err == Agent.TIMEOUT` keep working:
   * loose equality with a string converts the error through `toString()`.
   */
  override toString(): string {
    return this.code
  }

  /** Serialisable view: code and message, never the stack. */
  toJSON(): { code: CioErrorCode; message: string } {
    return { code: this.code, message: this.message }
  }
}

/** True when `value` is a CioError, optionally with the given code. */
export function isCioError(value: unknown, code?: CioErrorCode): value is CioError {
  return value instanceof CioError && (code === undefined || value.code === code)
}

/** Human description of any thrown value, for messages that wrap it. */
export function describeError(value: unknown): string {
  if (value instanceof Error) return value.message
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}
