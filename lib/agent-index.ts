/**
 * `cio/agent`: servers and agents that call each other with promises after
 * proving a shared secret that never travels.
 *
 *   import { AgentServer, Agent, FileStore } from 'cio/agent'
 */
export { AgentServer } from './agent-server.js'
export type { AgentServerEvents, SendOutcome, ByAgent } from './agent-server.js'
export { Agent } from './agent.js'
export type { AgentEvents, AgentConnector } from './agent.js'
export type { AgentRecord } from './agent-server-link.js'
export type { AgentServerOptions, AgentProtocol } from './agent-server-options.js'
export { DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_HEARTBEAT_INTERVAL } from './agent-server-options.js'
export type { AgentOptions } from './agent-options.js'
export type { ServerHook, ServerCatchAll, AgentHook, AgentCatchAll, HookMap } from './agent-hooks.js'
export { agentCodes } from './agent-errors.js'
export type { AgentErrorCode, AgentLogger } from './agent-errors.js'
export { agentActions, HEARTBEAT_ID, RESERVED_PREFIX } from './agent-protocol.js'
export type { Welcome } from './agent-protocol.js'
export { FileStore, MemoryStore, AtomicFileStore } from './agent-store.js'
export type { DataStore, StoreDoc, FileStoreOptions } from './agent-store.js'
export type { BackoffOptions } from './backoff.js'
export { DEFAULT_BACKOFF } from './backoff.js'
export { DEFAULT_AGENT_PORT } from './agent-url.js'
export { DEFAULT_NAME_FORMAT } from './agent-names.js'
export { CioError, codes, isCioError } from './errors.js'
export { agentServer } from '../listeners/agent-server.js'
export { agentClient } from '../listeners/agent-client.js'

// The seed's constants, importable one by one: `import { TIMEOUT } from 'cio/agent'`.
export const {
  TIMEOUT, UNKNOWN_ACTION, OFFLINE, UNKNOWN_AGENT, NO_CONNECTED_AGENTS, AGENT_NOT_CONNECTED, WRONG_SECRET, DUPLICATE_ID, NOT_AUTHORIZED,
  INVALID_MESSAGE, INTERNAL_ERROR, DISCONNECTED, HANDSHAKE_TIMEOUT, HEARTBEAT_TIMEOUT, SEND_ALL_FAILED, STORE_FAILED, CLOSED, LISTEN_FAILED,
} = {
  TIMEOUT: 'TIMEOUT', UNKNOWN_ACTION: 'UNKNOWN_ACTION', OFFLINE: 'OFFLINE', UNKNOWN_AGENT: 'UNKNOWN_AGENT', NO_CONNECTED_AGENTS: 'NO_CONNECTED_AGENTS',
  AGENT_NOT_CONNECTED: 'AGENT_NOT_CONNECTED', WRONG_SECRET: 'WRONG_SECRET', DUPLICATE_ID: 'DUPLICATE_ID', NOT_AUTHORIZED: 'NOT_AUTHORIZED',
  INVALID_MESSAGE: 'INVALID_MESSAGE', INTERNAL_ERROR: 'INTERNAL_ERROR', DISCONNECTED: 'DISCONNECTED', HANDSHAKE_TIMEOUT: 'HANDSHAKE_TIMEOUT',
  HEARTBEAT_TIMEOUT: 'HEARTBEAT_TIMEOUT', SEND_ALL_FAILED: 'SEND_ALL_FAILED', STORE_FAILED: 'STORE_FAILED', CLOSED: 'CLOSED', LISTEN_FAILED: 'LISTEN_FAILED',
} as const
