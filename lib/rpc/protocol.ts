/**
 * The RPC wire messages: what each frame of an RPC connection may contain,
 * and the one function that tells them apart. The README's Protocol section
 * is the human specification of the same rules; keep the two in step.
 *
 * Requests and responses flow in both directions on one connection. A frame
 * holds one JSON object, and its keys decide what it is:
 *
 * | message       | keys                                                          |
 * |---------------|---------------------------------------------------------------|
 * | request       | `id`, `action`, optional `body`, `meta`, `timeout`            |
 * | success       | `id`, optional `result` (absent: no value), optional `meta`   |
 * | user error    | `id`, `error` (the JSON value a handler threw), optional `meta` |
 * | fault         | `id`, `fault: { code, message }` (cio's own error), optional `meta` |
 * | cancel        | `id` = {@link NO_CALL_ID}, `cancel` (the id of the call given up) |
 *
 * `id` is a safe integer >= 1 chosen by the caller, unique among its calls on
 * that connection; responses echo it. A request carries none of `result`,
 * `error`, `fault`; a response carries at most one of them. `timeout` is
 * the time in ms the caller will still wait, relative so that no clocks
 * need to agree. A cancel looks like an answer to a call nobody waits on,
 * so a peer that does not know it drops it. Other keys are ignored,
 * reserved for later versions.
 */
import { CioError, codes, type CioErrorCode } from '../errors.js'

/** A call from the other side (or ours, going out). */
export interface RpcRequest {
  id: number
  action: string
  body?: unknown
  /** Metadata (checked by {@link classifyRpcMessage}: an object of strings). */
  meta?: unknown
  /** Milliseconds the caller will still wait. */
  timeout?: number
}

/**
 * The id no call ever uses (2^53 - 1): a cancel carries it, so that a peer
 * that does not know cancels takes it for a late answer and drops it. cio
 * numbers its calls from 1 and would need 2^53 of them to get there.
 */
export const NO_CALL_ID = Number.MAX_SAFE_INTEGER

/** The caller gave up call `cancel`: no answer is wanted any more. */
export interface RpcCancel {
  id: typeof NO_CALL_ID
  cancel: number
}

/** A successful answer; `result` is absent when the handler returned nothing. */
export interface RpcSuccess {
  id: number
  result?: unknown
  meta?: unknown
}

/** A handler threw or rejected with a plain JSON value, carried unchanged. */
export interface RpcUserError {
  id: number
  error: unknown
  meta?: unknown
}

/** An error raised by cio itself (or an Error a handler threw). */
export interface RpcFaultMessage {
  id: number
  fault: { code: string; message: string }
  meta?: unknown
}

/** Any RPC message. */
export type RpcMessage = RpcRequest | RpcSuccess | RpcUserError | RpcFaultMessage | RpcCancel

/** What {@link classifyRpcMessage} found. */
export const RpcKind = {
  REQUEST: 1,
  SUCCESS: 2,
  USER_ERROR: 3,
  FAULT: 4,
  CANCEL: 5,
} as const

/** One of the {@link RpcKind} values. */
export type RpcKind = (typeof RpcKind)[keyof typeof RpcKind]

/** A received value seen as a string-keyed record, for reading only. */
type Fields = { readonly [key: string]: unknown }

/** True for an id the protocol allows: a safe integer >= 1. */
export function isRpcId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1
}

/**
 * Tells what a received JSON value is, checking every field the protocol
 * defines. Reads fields, never writes or copies them, so a `__proto__` key
 * in the input is just an ignored own property.
 * @returns the kind, or a sentence saying why the value is not a message.
 */
export function classifyRpcMessage(value: unknown): RpcKind | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'a message must be a JSON object'
  const m = value as Fields
  if (!isRpcId(m.id)) return 'id must be an integer from 1 to 2^53-1'
  const hasResult = m.result !== undefined
  const hasError = m.error !== undefined
  const hasFault = m.fault !== undefined
  if (m.meta !== undefined && (typeof m.meta !== 'object' || m.meta === null || Array.isArray(m.meta))) return 'meta must be an object'
  if (m.action !== undefined) {
    if (typeof m.action !== 'string' || m.action.length === 0) return 'action must be a non-empty string'
    if (hasResult || hasError || hasFault) return 'a request must not carry result, error or fault'
    if (m.timeout !== undefined && !(typeof m.timeout === 'number' && m.timeout >= 0)) return 'timeout must be a number of ms, 0 or more'
    return RpcKind.REQUEST
  }
  if (m.cancel !== undefined) {
    if (m.id !== NO_CALL_ID || !isRpcId(m.cancel)) return `a cancel has id ${NO_CALL_ID} and the id of the call it gives up as cancel`
    return RpcKind.CANCEL
  }
  if ((hasResult ? 1 : 0) + (hasError ? 1 : 0) + (hasFault ? 1 : 0) > 1) return 'a response carries at most one of result, error, fault'
  if (hasFault) {
    const f = m.fault
    if (typeof f !== 'object' || f === null || Array.isArray(f)) return 'fault must be an object'
    const { code, message } = f as Fields
    if (typeof code !== 'string' || code.length === 0) return 'fault.code must be a non-empty string'
    if (typeof message !== 'string') return 'fault.message must be a string'
    return RpcKind.FAULT
  }
  return hasError ? RpcKind.USER_ERROR : RpcKind.SUCCESS
}

/** The error a malformed message is reported with. */
export function invalidMessage(reason: string): CioError {
  return new CioError(codes.INVALID_MESSAGE, `invalid RPC message: ${reason}`, { details: { reason } })
}

/**
 * The code of a received fault as a cio code. A code cio does not know (a
 * newer or foreign peer) becomes `INTERNAL_ERROR`, keeping the original in
 * `details.remoteCode`. `Object.hasOwn` keeps `__proto__` & co. out.
 */
export function faultCode(code: string): CioErrorCode {
  return Object.hasOwn(codes, code) ? (codes[code as keyof typeof codes] as CioErrorCode) : codes.INTERNAL_ERROR
}

/**
 * Thrown by a handler to answer with a cio fault of a chosen code (for
 * example `NOT_AUTHORIZED`) instead of `INTERNAL_ERROR`, which is what any
 * other `Error` becomes. Only code and message travel, never the stack.
 */
export class RpcFault extends CioError {
  constructor(code: CioErrorCode, message: string) {
    super(code, message)
    this.name = 'RpcFault'
  }
}
