/**
 * How many fuzz cases to run. CI size by default (about 100,000 across the
 * fuzz tests); `FUZZ_CASES=N` sets the total, shared out the same way;
 * `FUZZ_SEED=S` replays another seed (every failure names its seed).
 */
export interface FuzzBudget {
  seed: number
  /** Cases fed to the frame decoder in-process. */
  decoder: number
  /** RPC messages sent to a live server over sockets. */
  rpc: number
  /** Handshake messages sent to a live agent server over sockets. */
  handshake: number
}

/** CI size: the total across the fuzz test files. */
export const CI_FUZZ_CASES = 100_000

export function fuzzBudget(env: NodeJS.ProcessEnv = process.env): FuzzBudget {
  const total = positive(env.FUZZ_CASES) ?? CI_FUZZ_CASES
  const seed = positive(env.FUZZ_SEED) ?? 0xc10f
  // Socket cases cost far more than in-process ones: most go to the decoder.
  const rpc = Math.max(1, Math.round(total * 0.06))
  const handshake = Math.max(1, Math.round(total * 0.02))
  return { seed, decoder: Math.max(1, total - rpc - handshake), rpc, handshake }
}

function positive(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined
  const value = Number(text)
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`expected a non-negative integer, got ${text}`)
  return value
}
