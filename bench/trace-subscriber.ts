/**
 * The tracing subscriber bench/rpc measures: a light one, as an APM's
 * would be at minimum (reads the action at start, the outcome at the end).
 * `seen()` proves it ran.
 */
import diagnostics from 'node:diagnostics_channel'

/** Subscribes to the tracing channel `name`; returns a counter of what it saw. */
export function subscribeCounting(name: 'cio:call' | 'cio:handle'): { seen(): number } {
  let seen = 0
  diagnostics.tracingChannel(name).subscribe({
    start: (message: unknown) => void (seen += (message as { action: string }).action.length),
    end() {},
    asyncStart() {},
    asyncEnd: (message: unknown) => void (seen += (message as { code?: string }).code === 'OK' ? 1 : 0),
    error() {},
  })
  return { seen: () => seen }
}
