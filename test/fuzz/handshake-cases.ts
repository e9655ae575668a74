/**
 * Agent handshake fuzz cases: scripts of steps a raw client plays against a
 * live AgentServer, and what the server must do, worked out by an oracle
 * written from issue 4's rules (and the comment of `lib/agent/server/handshake.ts`):
 *
 *   - `cio.hello` first and once, then `cio.prove` once; a bad body is
 *     `INVALID_MESSAGE`, a wrong proof `WRONG_SECRET`, a live name
 *     `DUPLICATE_ID`; anything out of order, and any other request before
 *     the welcome, `NOT_AUTHORIZED`. Each refusal answers the request with
 *     a fault and ends the connection; nothing after it may count.
 *   - RPC-level garbage is a protocol error, as on any cio connection.
 *   - Silence before the welcome ends the connection at `handshakeTimeout`.
 *   - After the welcome, requests reach the hooks; `cio.ping` is answered.
 */
import { seeded, type Random } from '../helpers/random.js'
import { jsonText, randomString } from './gen.js'

export type HelloBody = 'valid' | 'named' | 'duplicate' | 'bad-name' | 'reserved-name' | 'bad-nonce' | 'junk' | 'none'
export type ProveBody = 'correct' | 'wrong' | 'reflected' | 'bad' | 'junk' | 'none'
export type Step =
  | { step: 'hello'; body: HelloBody }
  | { step: 'prove'; body: ProveBody }
  /** A request: a hook's action, an unknown one, or a reserved one. */
  | { step: 'call'; action: string; body: string | undefined }
  /** A response to no call of the server's: dropped in every phase. */
  | { step: 'response' }
  /** Not an RPC message: a protocol error. */
  | { step: 'invalid'; text: string }
  /** A frame the decoder refuses. */
  | { step: 'junk'; kind: 'zero' | 'huge' | 'json' }
  /** Waits for every answer so far (or the end of the connection). */
  | { step: 'wait' }

/** How the connection must end. */
export type Outcome =
  /** The request of step `at` is answered with a fault of `code`, then the server ends the connection. */
  | { end: 'refused'; code: 'NOT_AUTHORIZED' | 'INVALID_MESSAGE' | 'WRONG_SECRET' | 'DUPLICATE_ID'; at: number; welcomed: boolean }
  /** The server reports a protocol error with `code` and destroys the connection. */
  | { end: 'protocol'; code: 'INVALID_MESSAGE' | 'FRAME_INVALID' | 'FRAME_TOO_LARGE'; at: number; welcomed: boolean }
  /** No welcome in time: the server closes it with `HANDSHAKE_TIMEOUT`. */
  | { end: 'timeout' }
  /** Welcomed (under `name` when it claimed one); every later request answered; the client closes. */
  | { end: 'admitted'; name: string | undefined }

export interface HandshakeCase {
  seed: number
  steps: Step[]
  outcome: Outcome
  /** The fault code each request of the admitted phase must get (undefined: a success), by step index. */
  answers: Map<number, string | undefined>
}

const HOOK = 'echo'
const CALL_ACTIONS = [HOOK, HOOK, 'missing', 'cio.ping', 'cio.ping', 'cio.other', 'cio.hello', 'cio.prove', '__proto__', 'constructor'] as const

function helloBody(random: Random): HelloBody {
  return random.pick(['valid', 'valid', 'valid', 'named', 'named', 'duplicate', 'bad-name', 'reserved-name', 'bad-nonce', 'junk', 'none'] as const)
}

function proveBody(random: Random): ProveBody {
  return random.pick(['correct', 'correct', 'correct', 'wrong', 'reflected', 'bad', 'junk', 'none'] as const)
}

function randomStep(random: Random): Step {
  const roll = random.next()
  if (roll < 0.2) return { step: 'hello', body: helloBody(random) }
  if (roll < 0.4) return { step: 'prove', body: proveBody(random) }
  if (roll < 0.6) return { step: 'call', action: random.pick(CALL_ACTIONS), body: random.next() < 0.7 ? jsonText(random) : undefined }
  if (roll < 0.7) return { step: 'response' }
  if (roll < 0.78) return { step: 'invalid', text: random.pick(['[]', '{"id":"1","action":"cio.hello"}', '{"id":0,"action":"cio.prove"}', '{"id":1,"action":""}', '{"id":1,"action":"cio.hello","result":1}', '{}']) }
  if (roll < 0.82) return { step: 'junk', kind: random.pick(['zero', 'huge', 'json'] as const) }
  return { step: 'wait' }
}

/**
 * Makes case `seed`. Half start with an honest handshake (its prove waits
 * for the challenge, and the welcome is awaited before anything else, since
 * requests pipelined behind a prove race the naming and are refused).
 */
export function handshakeCase(seed: number): HandshakeCase {
  const random = seeded(seed)
  const steps: Step[] = []
  if (random.next() < 0.5) {
    steps.push({ step: 'hello', body: random.pick(['valid', 'valid', 'named', 'duplicate'] as const) }, { step: 'wait' })
    steps.push({ step: 'prove', body: random.next() < 0.8 ? 'correct' : proveBody(random) }, { step: 'wait' })
  }
  for (let i = random.int(0, 5); i > 0; i--) {
    const step = randomStep(random)
    steps.push(step)
    if (step.step === 'hello' || (step.step === 'prove' && step.body === 'correct')) steps.push({ step: 'wait' })
    // A prove that can be correct needs the challenge first: wait for it.
    if (step.step === 'hello' && random.next() < 0.5) steps.push({ step: 'prove', body: 'correct' }, { step: 'wait' })
  }
  const { outcome, answers } = expect(steps)
  return { seed, steps, outcome, answers }
}

/** The server's rules, step by step; stops at the first step that ends the connection. */
function expect(steps: readonly Step[]): { outcome: Outcome; answers: Map<number, string | undefined> } {
  let phase: 'new' | 'challenged' | 'ready' = 'new'
  let claimed: string | undefined
  let challenge = false
  const answers = new Map<number, string | undefined>()
  for (let at = 0; at < steps.length; at++) {
    const step = steps[at] as Step
    const refused = (code: 'NOT_AUTHORIZED' | 'INVALID_MESSAGE' | 'WRONG_SECRET' | 'DUPLICATE_ID'): { outcome: Outcome; answers: Map<number, string | undefined> } => ({ outcome: { end: 'refused', code, at, welcomed: phase === 'ready' }, answers })
    switch (step.step) {
      case 'hello':
        if (phase !== 'new') return refused('NOT_AUTHORIZED')
        if (!['valid', 'named', 'duplicate'].includes(step.body)) return refused('INVALID_MESSAGE')
        phase = 'challenged'
        challenge = true
        claimed = step.body === 'named' ? 'named' : step.body === 'duplicate' ? 'duplicate' : undefined
        break
      case 'prove':
        if (phase !== 'challenged') return refused('NOT_AUTHORIZED')
        if (step.body === 'bad' || step.body === 'junk' || step.body === 'none') return refused('INVALID_MESSAGE')
        // Without the challenge in hand the raw client can only guess.
        if (step.body !== 'correct' || !challenge) return refused('WRONG_SECRET')
        if (claimed === 'duplicate') return refused('DUPLICATE_ID')
        phase = 'ready'
        break
      case 'call':
        // A handshake action with a random body is a handshake step with a bad body.
        if (step.action === 'cio.hello') return refused(phase === 'new' ? 'INVALID_MESSAGE' : 'NOT_AUTHORIZED')
        if (step.action === 'cio.prove') return refused(phase === 'challenged' ? 'INVALID_MESSAGE' : 'NOT_AUTHORIZED')
        if (phase !== 'ready') return refused('NOT_AUTHORIZED')
        answers.set(at, step.action === HOOK || step.action === 'cio.ping' ? undefined : 'UNKNOWN_ACTION')
        break
      case 'invalid': return { outcome: { end: 'protocol', code: 'INVALID_MESSAGE', at, welcomed: phase === 'ready' }, answers }
      case 'junk': return { outcome: { end: 'protocol', code: step.kind === 'huge' ? 'FRAME_TOO_LARGE' : 'FRAME_INVALID', at, welcomed: phase === 'ready' }, answers }
      default: break
    }
  }
  return { outcome: phase === 'ready' ? { end: 'admitted', name: claimed } : { end: 'timeout' }, answers }
}

/** A random string that is not a safe agent name, or a name reserved by `Object.prototype`. */
export function badName(random: Random, reserved: boolean): unknown {
  if (reserved) return random.pick(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'])
  return random.pick(['', 'a b', 'x'.repeat(129), 'ü', 'a/b', '../etc', 5, null, [], {}, `${randomString(random)}\u0000`])
}
