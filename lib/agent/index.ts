/**
 * `cio/agent`: servers and agents that call each other with promises after
 * proving a shared secret that never travels.
 *
 *   import { AgentServer, Agent, FileStore } from 'cio/agent'
 */
export { AgentServer } from './server/agent-server.js'
export type { AgentServerEvents, SendOutcome, ByAgent, SendOptions, DrainResult } from './server/agent-server.js'
export { DEFAULT_DRAIN_TIMEOUT } from './options.js'
export { Agent } from './client/agent.js'
export type { AgentEvents, AgentConnector } from './client/agent.js'
export type { AgentRecord } from './server/connection.js'
export type { AgentServerOptions, AgentProtocol } from './server/options.js'
export { DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_HEARTBEAT_INTERVAL } from './server/options.js'
export type { AgentOptions } from './client/options.js'
export type { ServerHook, ServerCatchAll, AgentHook, AgentCatchAll, HookMap } from './hooks.js'
export { agentCodes } from './errors.js'
export type { AgentErrorCode } from './errors.js'
export type { AgentLogger } from './events.js'
export { agentActions, HEARTBEAT_ID, RESERVED_PREFIX } from './protocol.js'
export type { Welcome } from './protocol.js'
export { MemoryStore, AtomicFileStore } from './store.js'
export type { DataStore, StoreDoc, FileStoreOptions } from './store.js'
export type { BackoffOptions } from './backoff.js'
export { DEFAULT_BACKOFF } from './backoff.js'
export { DEFAULT_AGENT_PORT } from './url.js'
export { DEFAULT_NAME_FORMAT } from './names.js'
export { CioError, codes, isCioError } from '../errors.js'
export { agentServer } from '../../listeners/agent-server.js'
export { agentClient } from '../../listeners/agent-client.js'

export { FileStore, TIMEOUT, UNKNOWN_ACTION, OFFLINE, UNKNOWN_AGENT, NO_CONNECTED_AGENTS, AGENT_NOT_CONNECTED, WRONG_SECRET, DUPLICATE_ID, NOT_AUTHORIZED, INVALID_MESSAGE, INTERNAL_ERROR, DISCONNECTED, HANDSHAKE_TIMEOUT, HEARTBEAT_TIMEOUT, SEND_ALL_FAILED, STORE_FAILED, CLOSED, LISTEN_FAILED } from './compat.js'
export type { FileStoreConstructor } from './compat.js'
