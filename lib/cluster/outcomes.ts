/**
 * Outcomes of agent calls made on another node, turned into what travels and
 * back: a CioError becomes a fault (code, message, JSON-safe details) and is
 * rebuilt on the caller's side with `details.node`; a plain value a hook
 * threw travels as it is and reaches the caller unchanged, as it does
 * without a cluster.
 */
import { CioError, codes, describeError, type CioErrorCode } from '../errors.js'
import type { ByAgent, SendOutcome } from '../agent/calls.js'
import type { WireOutcome } from './wire.js'

/** The JSON-safe copy of an error's details, or nothing when they do not survive JSON. */
function jsonSafe(details: Record<string, unknown>): Record<string, unknown> | undefined {
  try {
    const copy: unknown = JSON.parse(JSON.stringify(details))
    return typeof copy === 'object' && copy !== null && !Array.isArray(copy) ? (copy as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/** How a rejection travels. */
export function failureToWire(error: unknown): WireOutcome {
  if (error instanceof CioError) {
    const details = jsonSafe(error.details)
    return { ok: false, fault: details === undefined ? { code: error.code, message: error.message } : { code: error.code, message: error.message, details } }
  }
  if (error instanceof Error) return { ok: false, fault: { code: codes.INTERNAL_ERROR, message: describeError(error) } }
  return { ok: false, thrown: error }
}

/** How a settled outcome travels. */
export function outcomeToWire(outcome: SendOutcome): WireOutcome {
  return outcome.ok ? { ok: true, value: outcome.value } : failureToWire(outcome.error)
}

/** The error a fault stands for, naming the node it came from. */
export function faultError(fault: { code: string; message: string; details?: Record<string, unknown> }, node: string): CioError {
  return new CioError(fault.code as CioErrorCode, fault.message, { details: { ...fault.details, node } })
}

/** What a received outcome settles with. */
export function outcomeFromWire(outcome: WireOutcome, node: string): SendOutcome {
  if (outcome.ok) return { ok: true, value: outcome.value }
  if ('fault' in outcome && outcome.fault !== undefined) return { ok: false, error: faultError(outcome.fault, node) }
  return { ok: false, error: (outcome as { thrown?: unknown }).thrown }
}

/** Every outcome of a node's answer, for the caller. */
export function resultsFromWire(results: ByAgent<WireOutcome>, node: string, into: ByAgent<SendOutcome>): void {
  for (const name of Object.keys(results)) if (!(name in into)) into[name] = outcomeFromWire(results[name] as WireOutcome, node)
}

const CAUSES: Partial<Record<CioErrorCode, string>> = {
  [codes.NODE_LOST]: 'The node holding the agent is gone.',
  [codes.CLUSTER_UNAVAILABLE]: 'Redis cannot be reached.',
  [codes.CLOSED]: 'This agent server was closed.',
}

/** A CioError whose cause says why: the node was lost, Redis is unreachable, or this server closed. */
export function lostError(code: CioErrorCode, message: string, causeCode: CioErrorCode, details: Record<string, unknown>): CioError {
  return new CioError(code, message, { cause: new CioError(causeCode, CAUSES[causeCode] ?? causeCode), details })
}
