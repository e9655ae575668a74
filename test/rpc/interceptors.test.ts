/**
 * Interceptors on both sides of a peer and of a whole server: order (outer
 * first), short-circuits, results and errors seen and changed, meta added
 * on the way out, a second next() refused. Over TCP and TLS.
 */
import t from 'tap'
import { CioError, codes } from '../../lib/errors.js'
import type { CallInterceptor, HandleInterceptor } from '../../lib/rpc/interceptors.js'
import { RpcFault } from '../../lib/rpc/protocol.js'
import { RpcHandlers } from '../../lib/rpc/handlers.js'
import { rpcPair } from '../helpers/rpc.js'

for (const secure of [false, true]) {
  const name = secure ? 'TLS' : 'TCP'

  t.test(`interceptors (${name}) - order on both sides, server-wide outside the connection's own`, async (t) => {
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
    const handlers = new RpcHandlers().on('echo', (_body, c) => Object.keys(c.meta).sort().join(','))
    const { clientPeer, serverPeer } = await rpcPair(t, secure, { handlers, interceptors: { handle: [handle('s1'), handle('s2')] } })
    serverPeer.use({ handle: handle('own') })
    clientPeer.use({ call: [call('c1'), call('c2')] })
    t.equal(await clientPeer.call('echo', null, { meta: { given: 'g' } }), 'given,x-c1,x-c2')
    t.same(log, ['c1>', 'c2>', 's1>', 's2>', 'own>', '<own:given,x-c1,x-c2', '<s2:given,x-c1,x-c2', '<s1:given,x-c1,x-c2', '<c2:given,x-c1,x-c2', '<c1:given,x-c1,x-c2'])
  })

  t.test(`interceptors (${name}) - short-circuits, changed results, errors seen and made`, async (t) => {
    const reached: string[] = []
    const { clientPeer, serverPeer } = await rpcPair(t, secure)
    serverPeer.on('x', (body) => {
      reached.push(String(body))
      if (body === 'throw') throw { plain: true }
      if (body === 'fault') throw new RpcFault(codes.NOT_AUTHORIZED, 'no')
      return 'handled'
    })
    serverPeer.use({
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
    t.equal(((await clientPeer.call('x', 'a').catch((e: unknown) => e)) as CioError).code, codes.NOT_AUTHORIZED, 'refused without a token')
    t.equal(await clientPeer.call('x', 'cached', { meta }), 'from cache')
    t.equal(await clientPeer.call('x', 'b', { meta }), 'handled!')
    t.equal(await clientPeer.call('x', 'throw', { meta }), 'recovered')
    t.equal(((await clientPeer.call('x', 'fault', { meta }).catch((e: unknown) => e)) as CioError).code, codes.NOT_AUTHORIZED)
    t.equal(((await clientPeer.call('nope', null, { meta }).catch((e: unknown) => e)) as CioError).code, codes.UNKNOWN_ACTION, 'UNKNOWN_ACTION passes through next()')
    t.same(reached, ['b', 'throw', 'fault'])

    // The calling side sees results and errors and may change them.
    const seen: unknown[] = []
    clientPeer.use({
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
    t.equal(await clientPeer.call('x', 'c', { meta }), 'handled!')
    t.equal(await clientPeer.call('soft', null, { meta }), 'fallback')
    t.same(seen, ['handled!', codes.UNKNOWN_ACTION])
  })

  t.test(`interceptors (${name}) - a second next() is an error; answer meta reaches the calling side`, async (t) => {
    const { clientPeer, serverPeer } = await rpcPair(t, secure)
    serverPeer.on('x', (_b, call) => {
      call.setAnswerMeta({ served: 'yes' })
      return 1
    })
    serverPeer.use({
      handle: async (ctx, next) => {
        await next()
        if (ctx.action === 'x' && ctx.body === 'twice') await next()
      },
    })
    const error = (await clientPeer.call('x', 'twice').catch((e: unknown) => e)) as CioError
    t.equal(error.code, codes.INTERNAL_ERROR)
    t.match(error.message, /next\(\) more than once/)
    let answerMeta: unknown
    clientPeer.use({
      call: async (ctx, next) => {
        await next()
        answerMeta = { ...ctx.answerMeta }
      },
    })
    t.equal(await clientPeer.call('x'), 1)
    t.same(answerMeta, { served: 'yes' })
    // A retry: the interceptor calls again through the peer (marked so it retries once).
    let attempts = 0
    serverPeer.on('flaky', () => {
      if (++attempts === 1) throw new RpcFault(codes.INTERNAL_ERROR, 'try again')
      return 'ok'
    })
    clientPeer.use({
      call: async (ctx, next) => {
        try {
          await next()
        } catch (error) {
          if (ctx.meta.retry !== undefined || (error as CioError).code !== codes.INTERNAL_ERROR) throw error
          ctx.result = await ctx.peer.call(ctx.action, ctx.body, { ...ctx.options, meta: { ...ctx.meta, retry: '1' } })
        }
      },
    })
    t.equal(await clientPeer.call('flaky'), 'ok')
    t.equal(attempts, 2)
    t.throws(() => clientPeer.use({ call: 5 as never }), { code: codes.INVALID_ARGUMENT })
    for (const meta of ['str', { a: 1 }]) {
      t.equal(((await clientPeer.call('x', null, { meta: meta as never }).catch((e: unknown) => e)) as CioError).code, codes.INVALID_ARGUMENT, 'bad meta is refused before the interceptors')
    }
    clientPeer.use({
      call: async (ctx, next) => {
        if (ctx.action === 'x' && ctx.body === 'bad-added') ctx.meta['cio-mine'] = 'x'
        await next()
      },
    })
    t.equal(((await clientPeer.call('x', 'bad-added').catch((e: unknown) => e)) as CioError).code, codes.INVALID_ARGUMENT, 'meta an interceptor added is checked too')
  })
}
