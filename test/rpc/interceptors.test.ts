/**
 * Interceptors on both sides of a peer and of a whole chain (a server's for
 * all its connections, a client's for its own): order (outer first),
 * short-circuits, results and errors seen and changed, meta added on the
 * way out, a second next() refused. Over TCP and TLS, with the client
 * calling the server and the server calling the client.
 */
import t from 'tap'
import { CioError, codes } from '../../lib/errors.js'
import type { CallInterceptor, HandleInterceptor, Interceptors } from '../../lib/rpc/interceptors.js'
import { RpcFault } from '../../lib/rpc/protocol.js'
import { RpcHandlers } from '../../lib/rpc/handlers.js'
import { DIRECTIONS, directed, rpcPair } from '../helpers/rpc.js'

for (const secure of [false, true]) {
  for (const direction of DIRECTIONS) {
    const name = `${secure ? 'TLS' : 'TCP'}, ${direction}`

    t.test(`interceptors (${name}) - order on both sides, chain-wide (a server's for all its connections) outside the connection's own; only the caller's call and the answerer's handle ones run`, async (t) => {
      const log: string[] = []
      const handle = (tag: string): HandleInterceptor => async (ctx, next) => {
        log.push(`${tag}>`)
        await next()
        log.push(`<${tag}:${String(ctx.result)}`)
      }
      const call = (tag: string): CallInterceptor => async (ctx, next) => {
        log.push(`${tag}>`)
        ctx.meta[`x-${tag}`] = '1'
        await next()
        log.push(`<${tag}:${String(ctx.result)}`)
      }
      // Every side has both kinds, chain-wide (s1, s2 on the server; c1, c2 on the client) and its connection's own.
      const chainWide = (side: string): Interceptors => ({ call: [call(`${side}1`), call(`${side}2`)], handle: [handle(`${side}1`), handle(`${side}2`)] })
      const handlers = new RpcHandlers().on('echo', (_body, c) => Object.keys(c.meta).sort().join(','))
      const pair = directed(await rpcPair(t, secure, { handlers, interceptors: chainWide('s') }, { handlers, interceptors: chainWide('c') }), direction)
      pair.serverPeer.use({ call: call('s-own'), handle: handle('s-own') })
      pair.clientPeer.use({ call: call('c-own'), handle: handle('c-own') })
      // The caller's interceptors run first (its chain's, then its own), then the answerer's; they unwind in reverse.
      const [me, them] = direction === 'client calls server' ? ['c', 's'] : ['s', 'c']
      const expectedLog = (result: string, tags: string[]): string[] => [...tags.map((tag) => `${tag}>`), ...[...tags].reverse().map((tag) => `<${tag}:${result}`)]

      const keys = ['given', `x-${me}1`, `x-${me}2`, `x-${me}-own`].sort().join(',')
      t.equal(await pair.caller.call('echo', null, { meta: { given: 'g' } }), keys, "the caller's call interceptors added their meta")
      t.same(log, expectedLog(keys, [`${me}1`, `${me}2`, `${me}-own`, `${them}1`, `${them}2`, `${them}-own`]))

      // The chain-wide ones serve every connection of their chain; a connection's own stay with it.
      log.length = 0
      const second = directed(await pair.connect(), direction)
      const secondKeys = [`x-${me}1`, `x-${me}2`].sort().join(',')
      t.equal(await second.caller.call('echo'), secondKeys, 'a second connection: the chain-wide call interceptors only')
      t.same(log, expectedLog(secondKeys, [`${me}1`, `${me}2`, `${them}1`, `${them}2`]))
    })

    t.test(`interceptors (${name}) - short-circuits, changed results, errors seen and made`, async (t) => {
      const reached: string[] = []
      const { caller, answerer } = directed(await rpcPair(t, secure), direction)
      answerer.on('x', (body) => {
        reached.push(String(body))
        if (body === 'throw') throw { plain: true }
        if (body === 'fault') throw new RpcFault(codes.NOT_AUTHORIZED, 'no')
        return 'handled'
      })
      answerer.use({
        handle: async (ctx, next) => {
          if (ctx.meta.token !== 'secret') throw new RpcFault(codes.NOT_AUTHORIZED, 'bad token')
          if (ctx.body === 'cached') {
            ctx.result = 'from cache'
            return
          }
          try {
            await next()
          } catch (error) {
            if ((error as { plain?: boolean }).plain === true) {
              ctx.result = 'recovered'
              return
            }
            throw error
          }
          ctx.result = `${String(ctx.result)}!`
        },
      })
      const meta = { token: 'secret' }
      t.equal(((await caller.call('x', 'a').catch((e: unknown) => e)) as CioError).code, codes.NOT_AUTHORIZED, 'refused without a token')
      t.equal(await caller.call('x', 'cached', { meta }), 'from cache')
      t.equal(await caller.call('x', 'b', { meta }), 'handled!')
      t.equal(await caller.call('x', 'throw', { meta }), 'recovered')
      t.equal(((await caller.call('x', 'fault', { meta }).catch((e: unknown) => e)) as CioError).code, codes.NOT_AUTHORIZED)
      t.equal(((await caller.call('nope', null, { meta }).catch((e: unknown) => e)) as CioError).code, codes.UNKNOWN_ACTION, 'UNKNOWN_ACTION passes through next()')
      t.same(reached, ['b', 'throw', 'fault'])

      // The calling side sees results and errors and may change them.
      const seen: unknown[] = []
      caller.use({
        call: async (ctx, next) => {
          try {
            await next()
            seen.push(ctx.result)
          } catch (error) {
            seen.push((error as CioError).code)
            if (ctx.action === 'soft') {
              ctx.result = 'fallback'
              return
            }
            throw error
          }
        },
      })
      t.equal(await caller.call('x', 'c', { meta }), 'handled!')
      t.equal(await caller.call('soft', null, { meta }), 'fallback')
      t.same(seen, ['handled!', codes.UNKNOWN_ACTION])
    })

    t.test(`interceptors (${name}) - a second next() is an error; answer meta reaches the calling side`, async (t) => {
      const { caller, answerer } = directed(await rpcPair(t, secure), direction)
      answerer.on('x', (_b, call) => {
        call.setAnswerMeta({ served: 'yes' })
        return 1
      })
      answerer.use({
        handle: async (ctx, next) => {
          await next()
          if (ctx.action === 'x' && ctx.body === 'twice') await next()
        },
      })
      const error = (await caller.call('x', 'twice').catch((e: unknown) => e)) as CioError
      t.equal(error.code, codes.INTERNAL_ERROR)
      t.match(error.message, /next\(\) more than once/)
      let answerMeta: unknown
      caller.use({
        call: async (ctx, next) => {
          await next()
          answerMeta = { ...ctx.answerMeta }
        },
      })
      t.equal(await caller.call('x'), 1)
      t.same(answerMeta, { served: 'yes' })
      // A retry: the interceptor calls again through the peer (marked so it retries once).
      let attempts = 0
      answerer.on('flaky', () => {
        if (++attempts === 1) throw new RpcFault(codes.INTERNAL_ERROR, 'try again')
        return 'ok'
      })
      caller.use({
        call: async (ctx, next) => {
          try {
            await next()
          } catch (error) {
            if (ctx.meta.retry !== undefined || (error as CioError).code !== codes.INTERNAL_ERROR) throw error
            ctx.result = await ctx.peer.call(ctx.action, ctx.body, { ...ctx.options, meta: { ...ctx.meta, retry: '1' } })
          }
        },
      })
      t.equal(await caller.call('flaky'), 'ok')
      t.equal(attempts, 2)
      t.throws(() => caller.use({ call: 5 as never }), { code: codes.INVALID_ARGUMENT })
      for (const meta of ['str', { a: 1 }]) {
        t.equal(((await caller.call('x', null, { meta: meta as never }).catch((e: unknown) => e)) as CioError).code, codes.INVALID_ARGUMENT, 'bad meta is refused before the interceptors')
      }
      caller.use({
        call: async (ctx, next) => {
          if (ctx.action === 'x' && ctx.body === 'bad-added') ctx.meta['cio-mine'] = 'x'
          await next()
        },
      })
      t.equal(((await caller.call('x', 'bad-added').catch((e: unknown) => e)) as CioError).code, codes.INVALID_ARGUMENT, 'meta an interceptor added is checked too')
    })
  }
}
