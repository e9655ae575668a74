/**
 * Interceptors: `async (ctx, next)` functions wrapped around each call,
 * koa-compose style. The first one added is the outermost. `next()` runs
 * the rest (and, at the centre, the call itself) and resolves once
 * `ctx.result` holds the answer; it rejects with the call's error. An
 * interceptor may change `ctx.result`, throw to fail the call, or answer
 * without calling `next()` by setting `ctx.result`. Calling `next()` twice
 * rejects with `INTERNAL_ERROR`.
 */
import type { Socket } from 'node:net'
import { CioError, codes } from '../errors.js'
import type { RpcMeta } from './meta.js'
import type { CallOptions, RpcCall, RpcPeerApi } from './types.js'

/** What a calling-side interceptor sees of one outgoing call. */
export interface CallContext {
  /** The peer making the call. */
  readonly peer: RpcPeerApi
  /** The action called. */
  readonly action: string
  /** The body to send; an interceptor may replace it before `next()`. */
  body: unknown
  /** The request's metadata (a null-prototype copy): add keys before `next()`. */
  meta: RpcMeta
  /** The options the call was made with. */
  readonly options: CallOptions | undefined
  /** After `next()`: the answer; set it to change what the caller gets. */
  result: unknown
  /** After `next()`: the answer's metadata, empty when none. */
  answerMeta: Readonly<RpcMeta>
}

/** What an answering-side interceptor sees: the handlers' `call`, plus the body and the answer. */
export interface HandleContext extends RpcCall {
  /** The request's body, unvalidated. */
  readonly body: unknown
  /** After `next()`: the handlers' answer; set it (with or without `next()`) to change the answer. */
  result: unknown
  /** The connection the call came on. */
  readonly socket: Socket
}

/** Wraps each outgoing call. */
export type CallInterceptor = (ctx: CallContext, next: () => Promise<void>) => unknown
/** Wraps each incoming call, before the handlers. */
export type HandleInterceptor = (ctx: HandleContext, next: () => Promise<void>) => unknown

/** Interceptors for both directions; give them to `use()` or as the `interceptors` option. */
export interface Interceptors {
  /** Around calls this side makes. */
  call?: CallInterceptor | readonly CallInterceptor[]
  /** Around calls this side answers. */
  handle?: HandleInterceptor | readonly HandleInterceptor[]
}

/**
 * A live pair of interceptor lists. One set can serve many peers (a
 * server's for all its connections): interceptors added later reach every
 * peer. `use()` and the `interceptors` option make them; few need it directly.
 */
export class InterceptorSet {
  readonly call: CallInterceptor[] = []
  readonly handle: HandleInterceptor[] = []

  /** Adds interceptors; checks them all first. @throws CioError `INVALID_ARGUMENT` */
  add(interceptors: Interceptors, where: string): this {
    const call = listOf(interceptors?.call, `${where} call`)
    const handle = listOf(interceptors?.handle, `${where} handle`)
    this.call.push(...call)
    this.handle.push(...handle)
    return this
  }
}

function listOf<F>(value: F | readonly F[] | undefined, where: string): F[] {
  if (value === undefined) return []
  const list = (Array.isArray(value) ? value : [value]) as unknown[]
  for (const fn of list) {
    if (typeof fn !== 'function') throw new CioError(codes.INVALID_ARGUMENT, `${where} interceptors must be functions (ctx, next), got ${fn === null ? 'null' : typeof fn}.`)
  }
  return list as F[]
}

/** Checks an `interceptors` option. @throws CioError `INVALID_OPTION` */
export function checkInterceptorsOption(value: unknown): InterceptorSet | undefined {
  if (value === undefined) return undefined
  if (value instanceof InterceptorSet) return value
  if (typeof value !== 'object' || value === null) throw new CioError(codes.INVALID_OPTION, 'interceptors must be { call?, handle? } with functions (ctx, next).', { details: { option: 'interceptors' } })
  try {
    return new InterceptorSet().add(value as Interceptors, 'interceptors')
  } catch (error) {
    throw new CioError(codes.INVALID_OPTION, (error as Error).message, { details: { option: 'interceptors' } })
  }
}

/**
 * Runs `ctx` through the interceptors of `outer` then `inner` (either may
 * be undefined), with `core` at the centre.
 */
export function runInterceptors<C>(
  outer: ReadonlyArray<(ctx: C, next: () => Promise<void>) => unknown> | undefined,
  inner: ReadonlyArray<(ctx: C, next: () => Promise<void>) => unknown> | undefined,
  ctx: C,
  core: (ctx: C) => Promise<void>,
): Promise<void> {
  const outerCount = outer?.length ?? 0
  const total = outerCount + (inner?.length ?? 0)
  let reached = -1
  const dispatch = (index: number): Promise<void> => {
    if (index <= reached) return Promise.reject(new CioError(codes.INTERNAL_ERROR, 'an interceptor called next() more than once'))
    reached = index
    try {
      if (index === total) return core(ctx)
      const fn = index < outerCount ? (outer as ReadonlyArray<(ctx: C, next: () => Promise<void>) => unknown>)[index] : (inner as ReadonlyArray<(ctx: C, next: () => Promise<void>) => unknown>)[index - outerCount]
      return Promise.resolve((fn as (ctx: C, next: () => Promise<void>) => unknown)(ctx, () => dispatch(index + 1))).then(ignore)
    } catch (error) {
      return Promise.reject(error)
    }
  }
  return dispatch(0)
}

function ignore(): void {}
