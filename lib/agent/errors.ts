/**
 * The base class of `AgentServer` and `Agent`: a typed event emitter that
 * carries every agent error code as a static constant (`Agent.TIMEOUT`), the
 * way websocket-agent code tests them. The constants come from the one code
 * table in `lib/errors.ts`.
 */
import { EventEmitter } from 'node:events'
import { agentCodes } from '../errors.js'

export { agentCodes, type AgentErrorCode } from '../errors.js'

class CodedEmitterBase<Events extends Record<keyof Events, unknown[]>> extends EventEmitter<Events> {}

/** A typed event emitter with `static TIMEOUT = 'TIMEOUT'` and the other agent codes. */
export const CodedEmitter = Object.assign(CodedEmitterBase, agentCodes)
