/** The measuring method of bench/rpc.ts and bench/agent.ts, shared with them: see ../method.ts. */
export * from '../method.js'
