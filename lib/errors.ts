/**
 * The one table of error codes used anywhere in cio, and the error class that
 * carries them. Codes are plain upper snake case strings so that callers can
 * compare `err.code === codes.TIMEOUT` (or, as websocket-agent code does,
 * `err == Agent.TIMEOUT`, which works because `toString()` yields the code).
 * Adding a code is one line in `table` (plus its row in the README); the
 * `codes` and `agentCodes` constants and the static constants of the agent
 * classes are derived from it.
 */
const table = {
  // configuration and API misuse
  INVALID_ARGUMENT: { agent: true },
  INVALID_OPTION: { agent: true },
  MODULE_LOAD: { agent: false },
  CERT_READ: { agent: false },
  // chain and ordering engines
  CHAIN_FAILED: { agent: false },
  CHAIN_INVALID_LISTENER: { agent: false },
  ORDER_CYCLE: { agent: false },
  ORDER_MISSING_ID: { agent: false },
  ORDER_DUPLICATE_ID: { agent: false },
  // core listeners
  RELISTEN_FAILED: { agent: false },
  CLIENT_REJECTED: { agent: false },
  // framing
  FRAME_TOO_LARGE: { agent: false },
  FRAME_INVALID: { agent: false },
  // rpc
  TIMEOUT: { agent: true },
  ABORTED: { agent: false },
  DISCONNECTED: { agent: true },
  UNKNOWN_ACTION: { agent: true },
  INTERNAL_ERROR: { agent: true },
  INVALID_MESSAGE: { agent: true },
  TOO_MANY_PENDING: { agent: false },
  DEADLINE_EXCEEDED: { agent: true },
  CANCELLED: { agent: true },
  DRAINING: { agent: true },
  // agents
  OFFLINE: { agent: true },
  UNKNOWN_AGENT: { agent: true },
  NO_CONNECTED_AGENTS: { agent: true },
  AGENT_NOT_CONNECTED: { agent: true },
  WRONG_SECRET: { agent: true },
  DUPLICATE_ID: { agent: true },
  NOT_AUTHORIZED: { agent: true },
  HANDSHAKE_TIMEOUT: { agent: true },
  HEARTBEAT_TIMEOUT: { agent: true },
  SEND_ALL_FAILED: { agent: true },
  STORE_FAILED: { agent: true },
  CLOSED: { agent: true },
  LISTEN_FAILED: { agent: true },
  TOO_MANY_CONNECTIONS: { agent: true },
  TLS_FAILED: { agent: true },
  INSECURE_TRANSPORT: { agent: true },
  // several agent servers sharing one namespace (cio/redis)
  CLUSTER_UNAVAILABLE: { agent: true },
  NODE_LOST: { agent: true },
} as const satisfies Record<string, { readonly agent: boolean }>

type CodeTable = typeof table

/** Every code as a constant: `codes.TIMEOUT === 'TIMEOUT'`. */
export const codes: { readonly [K in keyof CodeTable]: K } = Object.freeze(
  Object.fromEntries(Object.keys(table).map((code) => [code, code])) as { [K in keyof CodeTable]: K },
)

/** The codes an `Agent` or `AgentServer` rejects or emits with. */
export type AgentErrorCode = { [K in keyof CodeTable]: CodeTable[K]['agent'] extends true ? K : never }[keyof CodeTable]

/**
 * The agent codes as constants; `AgentServer` and `Agent` carry each as a
 * static too (`Agent.TIMEOUT`), the way websocket-agent code tests them.
 */
export const agentCodes: { readonly [K in AgentErrorCode]: K } = Object.freeze(
  Object.fromEntries(Object.entries(table).filter(([, entry]) => entry.agent).map(([code]) => [code, code])) as { [K in AgentErrorCode]: K },
)

/** Every error code cio can produce. */
export type CioErrorCode = (typeof codes)[keyof typeof codes]

/** Extra, code-specific facts attached to an error (option name, path, limit, id...). */
export type CioErrorDetails = Record<string, unknown>

export interface CioErrorOptions {
  /** The lower-level error this one wraps. */
  cause?: unknown
  /** Facts a program may want to inspect, kept on `error.details`. */
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
