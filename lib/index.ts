/**
 * cio: raw TCP and TLS servers and clients whose sockets run through ordered
 * listener chains, with framed JSON messages and promise RPC on top.
 * `import buildCio from 'cio'`. Agents are in `cio/agent` (their main
 * classes are also here); the built-in listeners in `cio/listeners/*`.
 *
 * This is the public entry: everything exported here is documented and kept
 * stable. Tests, benchmarks and the command reach internals through
 * `internal.ts`.
 */
export { buildCio, buildCio as default } from './core/builder.js'
export type { Cio, ListenerSource, NoExtraOptions, OptionsChecker, BaseContext, ServerContext, ClientContext, ServerClientContext, SocketContext } from './core/types.js'
export type { CioOptions, CertOptions, CertSource, CertValue, SocketOptions, RelistenOptions, AllowListOptions, NodeSocketOptions } from './core/options.js'
export type { CioServer, CioServerEvents } from './core/server-events.js'

export { CioError, codes, isCioError } from './errors.js'
export type { CioErrorCode, CioErrorDetails, CioErrorOptions } from './errors.js'

export { Chain, buildChain } from './chain/chain.js'
export { ChainError } from './chain/chain-error.js'
export { order } from './chain/order.js'
export type { Orderable, OrderOptions } from './chain/order.js'
export type {
  ActionResult, AddResult, ChainApi, ChainEvents, ChainOptions, Control, DoneCallback, FailedOutcome, Listener, ListenerInput, ListenerOptions,
  ListenerTarget, Outcome, Pause, RemoveResult, RunOptions, RunResult, Selection,
} from './chain/types.js'

export { generateCerts, writeCerts } from './tls/certs.js'
export type { CertSet, CertFiles, KeyPair, GenerateCertsOptions } from './tls/certs.js'

export { FramedSocket, framedOf, attachFramed } from './frame/framed-socket.js'
export type { FramedSocketEvents, FramedSocketOptions } from './frame/framed-socket.js'
export { DEFAULT_MAX_FRAME_BYTES } from './frame/decoder.js'

export { RpcPeer, peerOf, attachRpc } from './rpc/peer.js'
export type { RpcInterceptor } from './rpc/peer.js'
export { RpcHandlers } from './rpc/handlers.js'
export { RpcFault } from './rpc/protocol.js'
export type { RpcMessage, RpcRequest, RpcSuccess, RpcUserError, RpcFaultMessage } from './rpc/protocol.js'
export type { CallOptions, HandlerRegistry, RpcCall, RpcCatchAll, RpcHandler, RpcHandlerMap, RpcPeerApi } from './rpc/types.js'
export { DEFAULT_CALL_TIMEOUT, DEFAULT_MAX_PENDING_CALLS } from './rpc/options.js'
export { drainPeers } from './rpc/peer.js'
export type { DrainResult } from './rpc/peer.js'
export { NO_CALL_ID } from './rpc/protocol.js'
export type { RpcCancel } from './rpc/protocol.js'
export { DEFAULT_MAX_META_BYTES, RESERVED_META_PREFIX } from './rpc/meta.js'
export type { RpcMeta } from './rpc/meta.js'
export type { CallContext, HandleContext, CallInterceptor, HandleInterceptor, Interceptors } from './rpc/interceptors.js'
export { channelNames } from './core/diagnostics.js'
export type { CallTrace, ConnectionMessage, HandshakeMessage, ProtocolErrorMessage } from './core/diagnostics.js'
export type { RpcPeerOptions } from './rpc/options.js'
export { frame } from '../listeners/frame.js'
export { rpc, rpcListeners } from '../listeners/rpc.js'

// The agents' main classes, so `import { AgentServer, Agent } from 'cio'` works; the rest is in `cio/agent`.
export { AgentServer, Agent, FileStore, MemoryStore } from './agent/index.js'
export type { AgentServerOptions, AgentOptions, AgentRecord } from './agent/index.js'
