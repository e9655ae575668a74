/** Calls `fn`, expecting it to throw; returns what was thrown, typed for inspection. */
export function thrown<E = { code?: string; message: string; details: Record<string, unknown>; cause?: unknown }>(fn: () => unknown): E {
  try {
    fn()
  } catch (error) {
    return error as E
  }
  throw new Error('expected the function to throw')
}
