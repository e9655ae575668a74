/**
 * What travels with a call besides its body: metadata both ways, the
 * caller's deadline, and its cancellation, seen from the handler through
 * `call.meta`, `call.deadline` and `call.signal`. Over TCP and TLS, with the
 * client calling the server and the server calling the client.
 */
import { once } from 'node:events'
import t, { type Test } from 'tap'
import { CioError, codes } from '../../lib/errors.js'
import type { RpcCall } from '../../lib/rpc/types.js'
import type { RpcPeer } from '../../lib/rpc/peer.js'
import { DIRECTIONS, directed, rpcPair, type Direction } from '../helpers/rpc.js'

/** The calling and the answering peer for one direction. */
async function pair(t: Test, secure: boolean, direction: Direction, options = {}): Promise<{ caller: RpcPeer; answerer: RpcPeer; closeAnswerer(): void }> {
  const { caller, answerer } = directed(await rpcPair(t, secure, options, options), direction)
  return { caller, answerer, closeAnswerer: () => answerer.socket.destroy() }
}

/** Resolves with the reason `call.signal` aborted with. */
function abortedWith(call: RpcCall): Promise<CioError> {
  return new Promise((resolve) => call.signal.addEventListener('abort', () => resolve(call.signal.reason as CioError), { once: true }))
}

for (const secure of [false, true]) {
  for (const direction of DIRECTIONS) {
    const name = `${secure ? 'TLS' : 'TCP'}, ${direction}`

    t.test(`call context (${name}) - meta travels both ways in null-prototype objects`, async (t) => {
      const { caller, answerer } = await pair(t, secure, direction)
      answerer.on('who', (_body, call) => {
        call.setAnswerMeta({ 'x-served-by': 'b' })
        return { proto: Object.getPrototypeOf(call.meta), meta: { ...call.meta } }
      })
      answerer.on('none', (_body, call) => Object.keys(call.meta).length)
      const seen: Array<Record<string, string>> = []
      const result = await caller.call<{ proto: unknown; meta: Record<string, string> }>('who', null, {
        meta: { tenant: 't1', 'x-trace': 'abc', __proto__x: 'y' },
        onMeta: (meta) => seen.push(meta),
      })
      t.same(result.meta, { tenant: 't1', 'x-trace': 'abc', __proto__x: 'y' })
      t.equal(result.proto, null, 'call.meta has no prototype')
      t.same(seen, [{ 'x-served-by': 'b' }], 'the answer meta reaches onMeta')
      t.equal(Object.getPrototypeOf(seen[0]), null)
      t.equal(await caller.call('none'), 0, 'no meta: an empty object')
    })

    t.test(`call context (${name}) - bad meta is INVALID_ARGUMENT at the call, nothing sent`, async (t) => {
      const { caller, answerer } = await pair(t, secure, direction, { maxMetaBytes: 64 })
      let ran = 0
      answerer.on('x', () => ++ran)
      for (const meta of [{ 'cio-x': 'reserved' }, { a: 1 }, { 'bad key': 'v' }, { a: 'x'.repeat(100) }, 'str', null]) {
        const error = await caller.call('x', null, { meta: meta as never }).catch((e: unknown) => e)
        t.equal((error as CioError).code, codes.INVALID_ARGUMENT, JSON.stringify(meta))
      }
      t.equal(ran, 0)
      answerer.on('setter', (_b, call) => call.setAnswerMeta({ 'cio-no': 'x' }))
      t.equal(((await caller.call('setter').catch((e: unknown) => e)) as CioError).code, codes.INTERNAL_ERROR, 'a bad answer meta fails the handler')
      answerer.on('big', (_b, call) => {
        call.setAnswerMeta({ a: 'x'.repeat(40) })
        call.setAnswerMeta({ b: 'x'.repeat(40) })
      })
      t.match(await caller.call('big').catch((e: unknown) => e), { code: codes.INTERNAL_ERROR, message: /maxMetaBytes/ }, 'the cap counts every key added')
    })

    t.test(`call context (${name}) - the deadline travels; the signal aborts with DEADLINE_EXCEEDED`, async (t) => {
      const { caller, answerer } = await pair(t, secure, direction)
      let reason: Promise<CioError> | undefined
      let deadline = 0
      answerer.on('slow', (_body, call) => {
        deadline = call.deadline
        reason = abortedWith(call)
        return new Promise(() => {})
      })
      const before = Date.now()
      const error = (await caller.call('slow', null, { timeout: 80 }).catch((e: unknown) => e)) as CioError
      t.equal(error.code, codes.TIMEOUT)
      t.ok(deadline > before && deadline <= Date.now() + 100, 'call.deadline is about now + the timeout')
      const why = await (reason as Promise<CioError>)
      t.ok(why.code === codes.DEADLINE_EXCEEDED || why.code === codes.CANCELLED, `aborted with ${why.code}`)
    })

    t.test(`call context (${name}) - a signal read after the deadline is aborted at once`, async (t) => {
      const { caller, answerer } = await pair(t, secure, direction)
      answerer.on('late', async (_body, call) => {
        await new Promise((resolve) => setTimeout(resolve, 40))
        return [call.signal.aborted, (call.signal.reason as CioError | undefined)?.code]
      })
      // The caller waits long enough for the answer, but tells the handler a short deadline.
      answerer.on('hop', (_b, call) => call.peer.call('late', null, { timeout: 1000, inheritDeadline: false }))
      const seen = await caller.call('late', null, { timeout: 20 }).catch((e: unknown) => (e as CioError).code)
      t.equal(seen, codes.TIMEOUT)
    })

    t.test(`call context (${name}) - caller abort and timeout cancel the handler (CANCELLED), nothing is answered`, async (t) => {
      const { caller, answerer } = await pair(t, secure, direction)
      const reasons: CioError[] = []
      const started: Array<() => void> = []
      answerer.on('wait', (_body, call) => {
        void abortedWith(call).then((reason) => reasons.push(reason))
        started.shift()?.()
        // Never answers by itself: only a cancel can take the run away.
        return new Promise(() => {})
      })
      const controller = new AbortController()
      const running = new Promise<void>((resolve) => started.push(resolve))
      const aborted = caller.call('wait', null, { signal: controller.signal, timeout: 5000 })
      await running
      controller.abort(new Error('user gave up'))
      t.equal(((await aborted.catch((e: unknown) => e)) as CioError).code, codes.ABORTED)
      const timedOut = caller.call('wait', null, { timeout: 60 })
      t.equal(((await timedOut.catch((e: unknown) => e)) as CioError).code, codes.TIMEOUT)
      // The handler's own deadline passes about when the cancel arrives: either may abort the signal first.
      for (let i = 0; i < 400 && (reasons.length < 2 || (answerer._runs?.size ?? 0) > 0); i++) await new Promise((resolve) => setTimeout(resolve, 5))
      t.equal(reasons[0]?.code, codes.CANCELLED, 'abort: CANCELLED')
      t.ok([codes.CANCELLED, codes.DEADLINE_EXCEEDED].includes(reasons[1]?.code as never), `timeout: ${reasons[1]?.code}`)
      t.equal(answerer._runs?.size ?? 0, 0, 'both runs were cancelled (no handler answered; only a cancel removes a run)')
      t.equal(await caller.call('wait2').catch((e: unknown) => (e as CioError).code), codes.UNKNOWN_ACTION, 'the connection still works')
    })

    t.test(`call context (${name}) - the signal aborts with DISCONNECTED when the connection closes`, async (t) => {
      const { caller, answerer, closeAnswerer } = await pair(t, secure, direction)
      let reason: Promise<CioError> | undefined
      const started = new Promise<void>((resolve) => {
        answerer.on('hang', (_body, call) => {
          reason = abortedWith(call)
          resolve()
          return new Promise(() => {})
        })
      })
      const pending = caller.call('hang').catch((e: unknown) => e)
      await started
      closeAnswerer()
      t.equal((await (reason as Promise<CioError>)).code, codes.DISCONNECTED)
      t.equal(((await pending) as CioError).code, codes.DISCONNECTED)
    })
  }
}

t.test('call context - a chain A -> B -> C: C sees the deadline A set, and is cancelled when A gives up', async (t) => {
  // A calls B (one connection), B calls C (another); B's handler just calls on.
  const ab = await rpcPair(t, false)
  const bc = await rpcPair(t, true)
  const a = ab.clientPeer
  const b = ab.serverPeer
  const bToC = bc.clientPeer
  const c = bc.serverPeer
  b.on('relay', (body) => bToC.call('work', body, { timeout: 60_000 }))
  let cDeadline = 0
  let cReason: Promise<CioError> | undefined
  let cTimeout = 0
  const cStarted = new Promise<void>((resolve) => {
    c.on('work', (_body, call) => {
      cDeadline = call.deadline
      cTimeout = call.deadline - Date.now()
      cReason = abortedWith(call)
      resolve()
      return new Promise(() => {})
    })
  })
  const controller = new AbortController()
  const before = Date.now()
  const call = a.call('relay', null, { timeout: 5000, signal: controller.signal })
  await cStarted
  t.ok(cDeadline <= before + 5000 + 20, `C's deadline is at most A's (${cDeadline - before} ms after A called)`)
  t.ok(cTimeout > 4000 && cTimeout <= 5005, `C got about A's remaining time, not B's own 60 s (${Math.round(cTimeout)} ms)`)
  controller.abort()
  t.equal(((await call.catch((e: unknown) => e)) as CioError).code, codes.ABORTED)
  const reason = await (cReason as Promise<CioError>)
  t.equal(reason.code, codes.CANCELLED, 'A gave up: B cancelled its call, so C is cancelled')
  t.equal(bToC.pendingCalls, 0, "B's call to C is no longer pending")
})

t.test('call context - a nested call after the served deadline fails with DEADLINE_EXCEEDED; inheritDeadline: false opts out', async (t) => {
  const { clientPeer, serverPeer } = await rpcPair(t, false)
  clientPeer.on('leaf', (_b, call) => Math.round((call.deadline - Date.now()) / 1000))
  // What the handlers find comes after the caller stopped waiting: kept on the server's side.
  const results: unknown[] = []
  serverPeer.on('late', async () => {
    await new Promise((resolve) => setTimeout(resolve, 40))
    results.push(await serverPeer.call('leaf').catch((e: unknown) => (e as CioError).code))
  })
  serverPeer.on('free', async () => {
    await new Promise((resolve) => setTimeout(resolve, 40))
    results.push(await serverPeer.call('leaf', null, { inheritDeadline: false, timeout: 10_000 }))
  })
  await clientPeer.call('late', null, { timeout: 10 }).catch(() => undefined)
  await clientPeer.call('free', null, { timeout: 10 }).catch(() => undefined)
  for (let i = 0; i < 400 && results.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 5))
  t.same(results, [codes.DEADLINE_EXCEEDED, 10])
})

t.test('call context - incoming meta over the cap is answered INVALID_ARGUMENT; bad answer meta fails the call', async (t) => {
  const { clientPeer, serverPeer } = await rpcPair(t, false, { maxMetaBytes: 16 }, { maxMetaBytes: 1000 })
  let ran = 0
  serverPeer.on('x', () => ++ran)
  const error = (await clientPeer.call('x', null, { meta: { k: 'v'.repeat(50) } }).catch((e: unknown) => e)) as CioError
  t.equal(error.code, codes.INVALID_ARGUMENT)
  t.match(error.message, /maxMetaBytes/)
  t.equal(ran, 0, 'the handlers never ran')
  // A hand-made answer with bad meta, from the server's framing layer (its handler never answers).
  serverPeer.on('raw', () => new Promise(() => {}))
  serverPeer.framed.on('message', (value: unknown) => {
    const request = value as { id?: number; action?: string }
    if (request.action === 'raw') serverPeer.framed.send({ id: request.id, result: 1, meta: { k: 5 } })
  })
  const bad = (await clientPeer.call('raw', null, { onMeta: () => undefined, timeout: 2000 }).catch((e: unknown) => e)) as CioError
  t.equal(bad.code, codes.INVALID_MESSAGE)
})

t.test('call context - cancels for unknown ids are ignored; a malformed cancel is a protocol error', async (t) => {
  const { clientPeer, serverPeer } = await rpcPair(t, false)
  serverPeer.on('ok', () => 'fine')
  clientPeer.framed.send({ id: Number.MAX_SAFE_INTEGER, cancel: 12345 })
  t.equal(await clientPeer.call('ok'), 'fine')
  const closed = once(serverPeer.framed, 'protocolError')
  clientPeer.framed.send({ id: 3, cancel: 1 })
  const [error] = (await closed) as [CioError]
  t.equal(error.code, codes.INVALID_MESSAGE)
})

t.test('call context - work left behind by an answered call does not inherit its deadline', async (t) => {
  const { clientPeer, serverPeer } = await rpcPair(t, false)
  clientPeer.on('leaf', () => 'reached')
  let later: Promise<unknown> | undefined
  serverPeer.on('quick', () => {
    // Started while serving, run after the answer and after the caller's 20 ms.
    later = new Promise((resolve) => setTimeout(resolve, 60)).then(() => serverPeer.call('leaf').catch((e: unknown) => (e as CioError).code))
    return 'answered'
  })
  t.equal(await clientPeer.call('quick', null, { timeout: 20 }), 'answered')
  t.equal(await later, 'reached')
})
