import type { Test } from 'tap'

/**
 * Collects every uncaught exception and unhandled rejection until the
 * test ends, so a test can assert that nothing escaped the library.
 */
export function collectUncaught(t: Test): unknown[] {
  const uncaught: unknown[] = []
  const onUncaught = (error: unknown): void => {
    uncaught.push(error)
  }
  process.on('uncaughtException', onUncaught)
  process.on('unhandledRejection', onUncaught)
  t.teardown(() => {
    process.off('uncaughtException', onUncaught)
    process.off('unhandledRejection', onUncaught)
  })
  return uncaught
}
