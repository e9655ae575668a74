import { once } from 'node:events'
import net from 'node:net'
import t, { type Test } from 'tap'
import { beat, resetBeat, sweep, type Beating } from '../../lib/agent/heartbeat.js'
import { agentActions, HEARTBEAT_ID, PONG_FRAME } from '../../lib/agent/protocol.js'
import { codes, type CioError } from '../../lib/errors.js'
import { encodeFrame } from '../../lib/frame/encoder.js'
import { cioRejection, type RawReader } from '../helpers/framing.js'
import { peerWithRawEnd } from '../helpers/rpc.js'

const INTERVAL = 150

/**
 * A connection checked by hand: no timer is involved, each test calls `beat`
 * where an interval would; the raw end sees the pings and answers (or not).
 */
async function beatingConnection(t: Test): Promise<{ entry: Beating & { beating: boolean }; socket: net.Socket; raw: net.Socket; reader: RawReader }> {
  const { peer, socket, raw, reader } = await peerWithRawEnd(t)
  const entry = { peer, beatBytes: -1, beatPinged: true, beating: true }
  resetBeat(entry)
  return { entry, socket, raw, reader }
}

/** Writes `bytes` from the raw end and waits until the peer's socket has read them. */
async function arrive(socket: net.Socket, raw: net.Socket, bytes: Buffer): Promise<void> {
  const read = once(socket, 'data')
  raw.write(bytes)
  await read
}

t.test('heartbeat - resetBeat notes the bytes read so far, with no ping out', async (t) => {
  const { entry, socket, raw } = await beatingConnection(t)
  t.same([entry.beatBytes, entry.beatPinged], [0, false])
  await arrive(socket, raw, PONG_FRAME)
  entry.beatPinged = true
  resetBeat(entry)
  t.same([entry.beatBytes, entry.beatPinged], [PONG_FRAME.length, false])
})

t.test('heartbeat - a check pings the peer and notes the byte count', async (t) => {
  const { entry, reader } = await beatingConnection(t)
  t.equal(beat(entry, INTERVAL), true)
  t.equal(entry.beatPinged, true)
  t.same(await reader.next(), { id: HEARTBEAT_ID, action: agentActions.PING })
})

t.test('heartbeat - a peer silent since the last ping is dead: HEARTBEAT_TIMEOUT, and pending calls fail at once', async (t) => {
  const { entry, socket, raw } = await beatingConnection(t)
  const pending = cioRejection(entry.peer.call('never answered', undefined, { timeout: 60_000 }))
  t.equal(beat(entry, INTERVAL), true, 'the first check only pings')
  t.equal(beat(entry, INTERVAL), false, 'the second finds nothing read since')
  t.equal(socket.destroyed, true)
  const error = socket.errored as CioError
  t.match(error, { code: codes.HEARTBEAT_TIMEOUT, message: new RegExp(`for ${INTERVAL} ms`), details: { heartbeatInterval: INTERVAL } })
  const failed = await pending
  t.equal(failed.code, codes.DISCONNECTED)
  t.equal(failed.cause, error, 'the call failed because of the heartbeat')
  if (!raw.closed) await once(raw, 'close')
  t.pass('the peer saw the connection close')
})

t.test('heartbeat - any byte is a sign of life: a busy peer that never answers pings is kept', async (t) => {
  const { entry, socket, raw, reader } = await beatingConnection(t)
  for (let round = 0; round < 3; round++) {
    t.equal(beat(entry, INTERVAL), true, `check ${round + 1}`)
    t.match(await reader.next(), { action: agentActions.PING })
    // a request, not a pong: the peer answers it (UNKNOWN_ACTION), and it counts as life all the same
    await arrive(socket, raw, encodeFrame({ id: round + 1, action: 'busy' }))
    t.match(await reader.next(), { id: round + 1, fault: { code: codes.UNKNOWN_ACTION } })
  }
  t.equal(socket.destroyed, false)
})

t.test('heartbeat - a peer that answers each ping with a pong is kept', async (t) => {
  const { entry, socket, raw, reader } = await beatingConnection(t)
  for (let round = 0; round < 3; round++) {
    t.equal(beat(entry, INTERVAL), true, `check ${round + 1}`)
    await reader.next()
    await arrive(socket, raw, PONG_FRAME)
  }
  t.equal(socket.destroyed, false)
  t.equal(entry.beatBytes, 2 * PONG_FRAME.length, 'the last check noted the pongs read before it')
})

t.test('heartbeat - a sweep checks only the connections that are beating', async (t) => {
  const live = await beatingConnection(t)
  const shaking = await beatingConnection(t)
  shaking.entry.beating = false
  const connections = new Map<string, Beating>([['live', live.entry], ['shaking', shaking.entry]])
  sweep(connections, INTERVAL)
  t.same([live.entry.beatPinged, shaking.entry.beatPinged], [true, false])
  sweep(connections, INTERVAL)
  t.equal(live.socket.destroyed, true, 'the silent beating one is dead')
  t.equal(shaking.socket.destroyed, false, 'the one still in its handshake is left alone')
  t.equal(shaking.entry.beatPinged, false)
})
